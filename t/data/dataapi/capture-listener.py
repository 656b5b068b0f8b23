import http.server, sys, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n=int(self.headers.get('Content-Length','0')); b=self.rfile.read(n)
        with open(sys.argv[2],'a') as f:
            f.write(json.dumps({'method':'POST','path':self.path,'headers':list(self.headers.items()),'body':b.decode()})+"\n")
        out=b'{"Id":"00000000-0000-0000-0000-000000000000"}'
        self.send_response(200); self.send_header('Content-Type','application/x-amz-json-1.1'); self.send_header('Content-Length',str(len(out))); self.end_headers(); self.wfile.write(out)
    def log_message(self,*a): pass
http.server.HTTPServer(('127.0.0.1',int(sys.argv[1])),H).serve_forever()
