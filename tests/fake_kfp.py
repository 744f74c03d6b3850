"""A stand-in for the Kubeflow Pipelines API server on 127.0.0.1: it answers the KFP v2beta1
REST calls that `hypertune submit` makes (healthz, experiments, pipelines, upload, runs,
recurring runs) and records every request, so a test can check what the kfp SDK sent. It
checks the protocol, not a cluster: nothing is scheduled or executed."""

import cgi
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlparse

API = '/apis/v2beta1'


class FakeKfpServer:

  def __init__(self):
    self.requests: List[Dict[str, Any]] = []
    self.pipelines: Dict[str, Dict[str, Any]] = {}  # id -> {name, versions: [...]}
    self.uploads: List[Dict[str, Any]] = []  # {name, pipeline_id, version_id, package}
    self._server = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
    self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

  @property
  def url(self) -> str:
    return f'http://127.0.0.1:{self._server.server_port}'

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._server.shutdown()
    self._server.server_close()

  def calls(self, method: str, path: str) -> List[Dict[str, Any]]:
    return [r for r in self.requests if r['method'] == method and r['path'] == API + path]

  # -- the API --------------------------------------------------------------------------------

  def answer(self, method: str, path: str, query: Dict[str, str], body: Any) -> Any:
    route = path[len(API):]
    if method == 'GET' and route == '/healthz':
      return {'multi_user': False}
    if method == 'GET' and route == '/experiments':
      return {}  # none yet: the client then creates one
    if method == 'POST' and route == '/experiments':
      return {'experiment_id': 'exp-1', 'display_name': body['display_name']}
    if method == 'GET' and route == '/pipelines':
      name = json.loads(query.get('filter', '{}')).get('predicates', [{}])[0].get('stringValue')
      found = [{'pipeline_id': pid, 'display_name': p['name']}
               for pid, p in self.pipelines.items() if p['name'] == name]
      return {'pipelines': found} if found else {}
    if method == 'POST' and route in ('/pipelines/upload', '/pipelines/upload_version'):
      return self._upload(route, query, body)
    if method == 'GET' and route.startswith('/pipelines/') and route.endswith('/versions'):
      pipeline_id = route.split('/')[2]
      return {'pipeline_versions': [{'pipeline_id': pipeline_id, 'pipeline_version_id': v}
                                    for v in self.pipelines[pipeline_id]['versions']]}
    if method == 'POST' and route == '/runs':
      return {**body, 'run_id': f'run-{len(self.calls("POST", "/runs"))}'}
    if method == 'POST' and route == '/recurringruns':
      return {**body, 'recurring_run_id': f'recurring-{len(self.calls("POST", "/recurringruns"))}'}
    raise KeyError(f'{method} {path}')

  def _upload(self, route: str, query: Dict[str, str], package: bytes) -> Dict[str, Any]:
    if route == '/pipelines/upload':
      pipeline_id = f'pipeline-{len(self.pipelines) + 1}'
      self.pipelines[pipeline_id] = {'name': query['name'], 'versions': []}
    else:
      pipeline_id = query['pipelineid']
    version_id = f'{pipeline_id}-v{len(self.pipelines[pipeline_id]["versions"]) + 1}'
    self.pipelines[pipeline_id]['versions'].append(version_id)
    self.uploads.append({'name': query['name'], 'pipeline_id': pipeline_id,
                         'version_id': version_id, 'package': package})
    return {'pipeline_id': pipeline_id, 'pipeline_version_id': version_id,
            'display_name': query['name']}

  def _handler(self):
    fake = self

    class Handler(BaseHTTPRequestHandler):

      def log_message(self, *args):  # quiet
        pass

      def _serve(self, method: str):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body()
        fake.requests.append({'method': method, 'path': url.path, 'query': query, 'body': body})
        try:
          payload, status = fake.answer(method, url.path, query, body), 200
        except KeyError as e:
          payload, status = {'error': f'not faked: {e}'}, 404
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def _body(self):
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        content_type = self.headers.get('Content-Type', '')
        if content_type.startswith('multipart/form-data'):
          form = cgi.FieldStorage(fp=io.BytesIO(raw), headers=self.headers,
                                  environ={'REQUEST_METHOD': 'POST',
                                           'CONTENT_TYPE': content_type})
          return form['uploadfile'].value
        return json.loads(raw) if raw else None

      def do_GET(self):  # noqa: N802
        self._serve('GET')

      def do_POST(self):  # noqa: N802
        self._serve('POST')

    return Handler
