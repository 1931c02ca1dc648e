// Demo page logic: lists the models, then calls translate and generate. Plain ES module, no build.
const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'ganserve.apiKey';

/** Authorization header when the user gave a key (the server may require one). */
function authHeaders() {
  const key = $('api-key').value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** The problem+json detail of a failed response, or its status line. */
async function describeFailure(response) {
  try {
    const problem = await response.json();
    return `${response.status} ${problem.title ?? ''}: ${problem.detail ?? ''}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function setStatus(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', isError);
}

/** Replaces an <img>'s source with a blob, freeing the previous object URL. */
function showBlob(img, blob) {
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
}

let models = [];

async function loadModels() {
  const response = await fetch('/v1/models', { headers: authHeaders() });
  if (!response.ok) {
    setStatus('translate-status', `cannot list models: ${await describeFailure(response)}`, true);
    return;
  }
  models = (await response.json()).models.filter((m) => m.status === 'ready');
  fillSelect(
    $('translate-model'),
    models.filter((m) => m.task === 'image-to-image'),
    'translate',
  );
  fillSelect(
    $('generate-model'),
    models.filter((m) => m.task === 'conditional-generation'),
    'generate',
  );
  updateConditioning();
}

function fillSelect(select, list, section) {
  select.replaceChildren(...list.map((m) => new Option(`${m.name}${m.description ? ` — ${m.description}` : ''}`, m.name)));
  const none = list.length === 0;
  $(`${section}-run`).disabled = none;
  if (none) setStatus(`${section}-status`, 'no ready model for this task on this server');
}

/** Shows the class picker or the prompt box, whichever the chosen model is conditioned on. */
function updateConditioning() {
  const model = models.find((m) => m.name === $('generate-model').value);
  const classes = model?.label?.classes ?? [];
  const hasText = Boolean(model?.text);
  $('label-field').hidden = classes.length === 0 || hasText;
  $('prompt-field').hidden = !hasText;
  $('generate-label').replaceChildren(...classes.map((c, i) => new Option(c, String(i))));
  if (classes.length > 7) $('generate-label').value = '7';
}

async function translate(event) {
  event.preventDefault();
  const file = $('translate-file').files[0];
  if (!file) return setStatus('translate-status', 'choose a photo first', true);
  const model = $('translate-model').value;
  showBlob($('translate-input'), file);
  $('translate-output').removeAttribute('src');
  $('translate-run').disabled = true;
  setStatus('translate-status', `translating with ${model}…`);
  const started = performance.now();
  try {
    const body = new FormData();
    body.append('image', file);
    const response = await fetch(`/v1/models/${encodeURIComponent(model)}/translate?format=png`, {
      method: 'POST',
      body,
      headers: authHeaders(),
    });
    if (!response.ok) return setStatus('translate-status', await describeFailure(response), true);
    showBlob($('translate-output'), await response.blob());
    const size = response.headers.get('X-Image-Size') ?? '';
    setStatus('translate-status', `done in ${Math.round(performance.now() - started)} ms ${size ? `(${size})` : ''}`);
  } catch (error) {
    setStatus('translate-status', `request failed: ${error.message}`, true);
  } finally {
    $('translate-run').disabled = false;
  }
}

async function generate(event) {
  event.preventDefault();
  const model = models.find((m) => m.name === $('generate-model').value);
  if (!model) return;
  const body = { seed: Number($('generate-seed').value), count: Number($('generate-count').value), format: 'png', scale: 4 };
  if (model.text) body.prompt = $('generate-prompt').value;
  else body.label = Number($('generate-label').value);
  $('generate-run').disabled = true;
  setStatus('generate-status', 'generating…');
  try {
    const response = await fetch(`/v1/models/${encodeURIComponent(model.name)}/generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'image/png', ...authHeaders() },
      body: JSON.stringify(body),
    });
    if (!response.ok) return setStatus('generate-status', await describeFailure(response), true);
    showBlob($('generate-output'), await response.blob());
    const ignored = response.headers.get('X-Ignored-Words');
    const ignoredNote = ignored ? ` · ignored words: ${ignored.split(',').map(decodeURIComponent).join(', ')}` : '';
    setStatus('generate-status', `seed ${response.headers.get('X-Seed')} · ${body.count} image${body.count > 1 ? 's' : ''}${ignoredNote}`);
  } catch (error) {
    setStatus('generate-status', `request failed: ${error.message}`, true);
  } finally {
    $('generate-run').disabled = false;
  }
}

$('api-key').value = localStorage.getItem(KEY_STORAGE) ?? '';
$('api-key').addEventListener('change', () => {
  localStorage.setItem(KEY_STORAGE, $('api-key').value.trim());
  loadModels();
});
$('translate-file').addEventListener('change', () => {
  const file = $('translate-file').files[0];
  if (file) showBlob($('translate-input'), file);
});
$('translate-form').addEventListener('submit', translate);
$('generate-form').addEventListener('submit', generate);
$('generate-model').addEventListener('change', updateConditioning);
$('generate-random-seed').addEventListener('click', () => {
  $('generate-seed').value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
});
loadModels();
