// Static file server for the playground: plain node:http, no dependencies.
//
//   node scripts/serve.mjs          # PORT (default 8080), HOST (127.0.0.1)
//
// URL layout (all read-only, GET and HEAD only):
//   /wasm/...   the repository's wasm/ folder
//   /build/...  the repository's build/ folder (e.g. /build/wasi/...)
//   /...        web/ (the page itself; / serves web/index.html)
//
// As a library (for end-to-end tests):
//   import { startServer } from '../scripts/serve.mjs';
//   const { server, url } = await startServer({ port: 0 });  // any free port
//   ...; server.close();

import { createReadStream, realpathSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import { isMain } from './is-main.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wat': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.trace': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
  '.c': 'text/plain; charset=utf-8',
  '.h': 'text/plain; charset=utf-8',
};

// URL prefix -> directory; the first match wins, '/' last.
export function defaultMounts(root = repoRoot) {
  return [
    ['/wasm/', path.join(root, 'wasm')],
    ['/build/', path.join(root, 'build')],
    ['/', path.join(root, 'web')],
  ];
}

function contentType(file) {
  return MIME_TYPES[path.extname(file).toLowerCase()] ??
    'application/octet-stream';
}

function send(res, status, text, headers = {}) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Maps a URL path to a file inside one of the mounts, or null if it would
// leave the mount (after resolving "..", and symlinks).
function resolvePath(mounts, urlPath) {
  for (const [prefix, dir] of mounts) {
    const bare = prefix.slice(0, -1);
    if (urlPath !== bare && !urlPath.startsWith(prefix)) continue;
    const rest = urlPath.slice(prefix.length - 1) || '/';
    const file = path.resolve(dir, '.' + rest);
    if (file !== dir && !file.startsWith(dir + path.sep)) return null;
    return { dir, file, isDirUrl: urlPath.endsWith('/') };
  }
  return null;
}

function within(dir, file) {
  try {
    const realDir = realpathSync(dir);
    const real = realpathSync(file);
    return real === realDir || real.startsWith(realDir + path.sep);
  } catch {
    return false;
  }
}

async function listing(res, urlPath, dirPath) {
  const entries = await readdir(dirPath, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const items = entries.map((e) => {
    const name = e.name + (e.isDirectory() ? '/' : '');
    return `<li><a href="${encodeURI(name)}">${escapeHtml(name)}</a></li>`;
  });
  const html = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(
    urlPath)}</title><h1>${escapeHtml(urlPath)}</h1><ul>` +
    (urlPath === '/' ? '' : '<li><a href="../">../</a></li>') +
    items.join('') + '</ul>\n';
  send(res, 200, html, { 'Content-Type': 'text/html; charset=utf-8' });
}

export function createHandler(mounts = defaultMounts()) {
  return async function handle(req, res) {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
        return;
      }
      let urlPath;
      try {
        urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      } catch {
        send(res, 400, 'bad request\n');
        return;
      }
      if (urlPath.includes('\0')) {
        send(res, 400, 'bad request\n');
        return;
      }
      const target = resolvePath(mounts, urlPath);
      if (!target) {
        send(res, 403, 'forbidden\n');
        return;
      }
      let { file } = target;
      let info = await stat(file).catch(() => null);
      if (info?.isDirectory()) {
        if (!target.isDirUrl) {
          res.writeHead(301, { Location: `${encodeURI(urlPath)}/` });
          res.end();
          return;
        }
        const index = path.join(file, 'index.html');
        const indexInfo = await stat(index).catch(() => null);
        if (!indexInfo?.isFile()) {
          if (!within(target.dir, file)) send(res, 403, 'forbidden\n');
          else await listing(res, urlPath, file);
          return;
        }
        file = index;
        info = indexInfo;
      }
      if (!info?.isFile()) {
        send(res, 404, `not found: ${urlPath}\n`);
        return;
      }
      if (!within(target.dir, file)) {
        send(res, 403, 'forbidden\n');
        return;
      }
      res.writeHead(200, {
        'Content-Type': contentType(file),
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, `server error: ${err.message}\n`);
      else res.destroy();
    }
  };
}

// Starts the server; resolves once it listens. port 0 picks a free port.
export function startServer({
  port = Number(process.env.PORT ?? 8080),
  host = process.env.HOST || '127.0.0.1',
  mounts = defaultMounts(),
} = {}) {
  const server = http.createServer(createHandler(mounts));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: actual } = server.address();
      const shown = host === '127.0.0.1' || host === '::1' ? 'localhost'
        : host === '0.0.0.0' || host === '::' ? 'localhost'
        : host.includes(':') ? `[${host}]` : host;
      resolve({ server, port: actual, url: `http://${shown}:${actual}/` });
    });
  });
}

if (isMain(import.meta.url)) {
  try {
    const { server, url } = await startServer();
    console.log(`lmalloc playground: ${url}  (Ctrl-C to stop)`);
    const stop = () => {
      server.close(() => process.exit(0));
      server.closeAllConnections?.();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (err) {
    console.error(`serve: ${err.message}`);
    process.exit(1);
  }
}
