# shellcheck shell=bash
# Sourced by the benchmarks: the plain nginx baseline (return 200).
#
#   plain_nginx_start DIR PORT WORKERS   writes DIR/nginx.conf, starts it,
#                                        waits for PORT (DIR/nginx.pid)

plain_nginx_start() {
    local dir=$1 port=$2 workers=$3

    cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "ok\\n"; }
    }
}
CONF
    /usr/sbin/nginx -p "$dir" -c nginx.conf
    wait_port "$port" 10
}
