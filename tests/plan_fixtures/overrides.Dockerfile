FROM ubuntu:22.04
# scratchify: keep wget
RUN apt-get update && apt-get install -y wget git make nginx
ENTRYPOINT ["git"]
