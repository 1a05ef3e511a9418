import { html, raw, type SafeHtml } from './html.template';

const STYLE = raw(`
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#cfe3ff;text-decoration:none} header strong{font-size:16px}
main{padding:20px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 20px}
th,td{border:1px solid #dde1e6;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}
.outcome-ok{color:#176b2c}.outcome-failed{color:#b3261e;font-weight:600}.outcome-retry{color:#9a6700}.outcome-skipped{color:#57606a}
.notice{background:#e6f4ea;border:1px solid #9ccfaa;padding:8px 12px}
.error{background:#fdecea;border:1px solid #f1a9a0;padding:8px 12px}
form.inline{display:inline;margin:0}
code{font-size:12px}
input[type=search]{width:320px;padding:5px}
`);

export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title} · broker dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header><strong>Salesforce ⇄ Field Nation broker</strong><a href="/">Timeline search</a><a href="/queues">Queues (Bull Board)</a><a href="/setup">Setup</a></header>
<main>
${body}
</main>
</body>
</html>`.value;
}

export function searchForm(value = ''): SafeHtml {
  return html`<form method="get" action="/timeline" role="search">
<label for="id">Salesforce id or work order id</label>
<input type="search" id="id" name="id" value="${value}" maxlength="64" required autofocus>
<button type="submit">Search</button>
</form>`;
}
