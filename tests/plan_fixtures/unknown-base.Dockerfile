FROM mycorp/runtime:2
RUN echo hi
