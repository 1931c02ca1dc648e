// Renders /openapi.json as a list of operations, each with a "try it" form. No CDN, no build.
const $ = (id) => document.getElementById(id);
/** Creates an element with properties and children. */
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
const KEY_STORAGE = 'ganserve.apiKey';

function authHeaders() {
  const key = $('api-key').value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** The JSON example for a request body: the schema's first example, or an empty object. */
function exampleBody(operation, doc) {
  const media = operation.requestBody?.content?.['application/json'];
  if (!media) return null;
  let schema = media.schema ?? {};
  if (schema.$ref) schema = doc.components.schemas[schema.$ref.split('/').pop()];
  return JSON.stringify(schema.examples?.[0] ?? {}, null, 2);
}

function parameterTable(parameters) {
  if (!parameters?.length) return el('p', { textContent: 'No parameters.' });
  const rows = parameters.map((p) =>
    el('tr', {}, el('td', { textContent: p.name }), el('td', { textContent: p.in }), el('td', { textContent: p.description ?? '' })),
  );
  return el('table', {}, el('tr', {}, el('th', { textContent: 'name' }), el('th', { textContent: 'in' }), el('th', { textContent: 'description' })), ...rows);
}

/** A form with one input per parameter (and a body editor or file picker), sending the request. */
function tryItForm(method, path, operation, doc) {
  const form = el('form', { className: 'try' });
  const row = el('div', { className: 'row' });
  const inputs = new Map();
  for (const p of operation.parameters ?? []) {
    const input = el('input', { name: p.name, placeholder: p.schema?.default !== undefined ? String(p.schema.default) : '' });
    if (p.name === 'name') input.dataset.path = 'true';
    inputs.set(p, input);
    row.append(el('label', {}, `${p.name}${p.required ? ' *' : ''}`, input));
  }
  const body = exampleBody(operation, doc);
  const textarea = body === null ? null : el('textarea', { value: body, name: 'body' });
  const wantsFile = Boolean(operation.requestBody?.content?.['multipart/form-data']);
  const file = wantsFile ? el('input', { type: 'file', accept: 'image/*', name: 'image' }) : null;
  const output = el('pre', { className: 'result', hidden: true });
  const image = el('img', { className: 'result-image', hidden: true });
  form.append(row, ...(textarea ? [textarea] : []), ...(file ? [el('label', {}, 'image', file)] : []), el('button', { type: 'submit', textContent: 'Send' }), output, image);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const [p, input] of inputs) {
      if (input.value === '') continue;
      if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(input.value));
      else query.set(p.name, input.value);
    }
    if (query.size) url += `?${query}`;
    const init = { method: method.toUpperCase(), headers: authHeaders() };
    if (textarea) {
      init.body = textarea.value;
      init.headers['Content-Type'] = 'application/json';
    } else if (file?.files[0]) {
      init.body = new FormData();
      init.body.append('image', file.files[0]);
    }
    output.hidden = false;
    image.hidden = true;
    output.textContent = `${init.method} ${url} …`;
    try {
      const response = await fetch(url, init);
      const type = response.headers.get('Content-Type') ?? '';
      const head = `${response.status} ${response.statusText}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n`;
      if (type.startsWith('image/')) {
        image.src = URL.createObjectURL(await response.blob());
        image.hidden = false;
        output.textContent = head;
      } else {
        const text = await response.text();
        let pretty = text;
        try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: show as is */ }
        output.textContent = head + pretty;
      }
    } catch (error) {
      output.textContent = `request failed: ${error.message}`;
    }
  });
  return form;
}

async function render() {
  const doc = await (await fetch('/openapi.json')).json();
  $('api-description').textContent = doc.info.description;
  const list = $('operations');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const responses = Object.entries(operation.responses ?? {}).map(([code, r]) => el('tr', {}, el('td', { textContent: code }), el('td', { textContent: r.description })));
      list.append(
        el('details', { className: 'op' },
          el('summary', {}, el('span', { className: `method ${method}`, textContent: method }), el('span', { className: 'path', textContent: path }), el('span', { textContent: operation.summary ?? '' })),
          el('div', { className: 'op-body' },
            ...(operation.description ? [el('p', { textContent: operation.description })] : []),
            el('h4', { textContent: 'Parameters' }), parameterTable(operation.parameters),
            el('h4', { textContent: 'Responses' }), el('table', {}, ...responses),
            el('h4', { textContent: 'Try it' }), tryItForm(method, path, operation, doc),
          ),
        ),
      );
    }
  }
}

$('api-key').value = localStorage.getItem(KEY_STORAGE) ?? '';
$('api-key').addEventListener('change', () => localStorage.setItem(KEY_STORAGE, $('api-key').value.trim()));
render();
