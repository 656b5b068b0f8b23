# Spectra: nginx with ngx_spectra_module, plus spectra-dataapi.
# Built with the same scripts as CI (scripts/deps.sh, make).

FROM debian:12 AS build
WORKDIR /src
COPY . /src
RUN bash scripts/deps.sh --build \
    && make BUILD=/src/build module dataapi tools \
    && rm -rf /var/lib/apt/lists/*

FROM debian:12-slim
LABEL org.opencontainers.image.title="spectra" \
      org.opencontainers.image.description="Multi-tenant data API in nginx"
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       nginx libjansson4 libjwt0 libcurl4 libsqlite3-0 libmicrohttpd12 \
       libpq5 libpg-query1504.0 libzstd1 libsnappy1v5 ca-certificates \
       gettext-base curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/lib/nginx/modules /var/lib/spectra /etc/spectra/conf.d \
       /etc/spectra/templates \
    && chown nobody:nogroup /var/lib/spectra
COPY --from=build /src/build/ngx_spectra_module.so /usr/lib/nginx/modules/
COPY --from=build /src/build/spectra-dataapi /usr/local/bin/
COPY scripts/docker-entrypoint.sh /usr/local/bin/spectra-entrypoint
COPY conf/spectra-docker.conf /etc/nginx/nginx.conf
EXPOSE 8080
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=15s --timeout=3s \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/v1/health || exit 1
ENTRYPOINT ["/usr/local/bin/spectra-entrypoint"]
CMD ["nginx", "-g", "daemon off;"]
