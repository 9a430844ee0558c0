FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3
RUN python3 -c 'print(1)' > /opt/generated.txt
CMD ["python3"]
