//! The customer's web page: pick a channel and a customer, write any kind of message to the
//! business, react, edit or delete, read what the business answered and its delivery state.

pub const PAGE: &str = r##"<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox de Buzón · cliente</title>
<style>
  :root { --brand: #e8590c; --ink: #1f2328; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
  header { background: #fff; border-bottom: 1px solid var(--line); padding: .75rem 1rem; display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 1rem; margin: 0 auto 0 0; }
  header h1 span { color: var(--brand); }
  select, input, button { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: .5rem; background: #fff; }
  button { background: var(--brand); color: #fff; border: 0; cursor: pointer; }
  button.secondary { background: #fff; color: var(--ink); border: 1px solid var(--line); }
  main { max-width: 760px; margin: 0 auto; padding: 1rem; display: flex; flex-direction: column; height: calc(100vh - 60px); }
  #thread { flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: .4rem; padding: .5rem 0; }
  .bubble { max-width: 75%; padding: .5rem .7rem; border-radius: .8rem; background: #fff; border: 1px solid var(--line); }
  .customer { align-self: flex-end; background: #fff4e6; border-color: #ffd8a8; }
  .business { align-self: flex-start; }
  .meta { font-size: .75rem; color: var(--muted); margin-top: .2rem; }
  .id { font-family: ui-monospace, monospace; font-size: .7rem; color: var(--muted); cursor: pointer; }
  form { display: grid; grid-template-columns: auto 1fr auto; gap: .5rem; background: #fff; border: 1px solid var(--line); border-radius: .8rem; padding: .6rem; }
  #extra { grid-column: 1 / -1; display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; font-size: .9rem; }
  #result { font-size: .8rem; color: var(--muted); min-height: 1.2em; }
  @media (max-width: 600px) { form { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Sandbox de <span>Buzón</span> · lado del cliente</h1>
  <label>Canal <select id="channel">
    <option value="whatsapp">WhatsApp</option><option value="messenger">Messenger</option>
    <option value="instagram">Instagram</option><option value="twilio">Twilio WhatsApp</option>
  </select></label>
  <label>Cuenta <select id="account"></select></label>
  <label>Cliente <select id="customer"></select></label>
  <button class="secondary" id="read" type="button">Marcar como leído</button>
  <button class="secondary" id="restrict" type="button">Meta: restringir la cuenta 24 h</button>
  <button class="secondary" id="lift" type="button">Meta: levantar la restricción</button>
</header>
<main>
  <div id="thread" aria-live="polite"></div>
  <form id="composer">
    <select id="kind" aria-label="Tipo de mensaje">
      <option value="text">Texto</option><option value="image">Imagen</option><option value="gif">GIF</option>
      <option value="video">Video</option><option value="audio">Audio</option><option value="voice">Nota de voz</option>
      <option value="document">Documento</option><option value="sticker">Sticker</option>
      <option value="location">Ubicación</option><option value="button">Botón</option><option value="list">Lista</option>
      <option value="quick_reply">Respuesta rápida</option><option value="share">Publicación compartida</option>
      <option value="story_reply">Respuesta a historia</option><option value="story_mention">Mención en historia</option>
      <option value="reaction">Reacción</option><option value="edit">Editar</option><option value="revoke">Eliminar</option>
      <option value="poll">Encuesta</option><option value="contacts">Contacto compartido</option>
      <option value="stop_promotions">Detener promociones (WhatsApp)</option>
      <option value="resume_promotions">Reanudar promociones (WhatsApp)</option>
    </select>
    <input id="text" placeholder="Escribe como el cliente…" aria-label="Texto">
    <button type="submit">Enviar</button>
    <div id="extra">
      <label>Sobre el mensaje <input id="target" placeholder="id (clic en un id)" size="22"></label>
      <label>Emoji <input id="emoji" value="👍" size="3"></label>
      <label>Archivo <input id="file" type="file"></label>
      <label><input id="echo" type="checkbox"> Lo escribe el negocio desde su app</label>
    </div>
    <div id="result"></div>
  </form>
</main>
<script>
let world = null;
const $ = (id) => document.getElementById(id);
async function load() {
  world = await (await fetch('/sandbox/api/world')).json();
  fillAccounts(); fillCustomers();
}
function fillAccounts() {
  const c = $('channel').value, a = $('account');
  const options = c === 'whatsapp' ? world.lines.map(l => [l.phone_number_id, l.verified_name + ' (+' + l.display_phone_number + ')'])
    : c === 'messenger' ? [[world.page.id, world.page.name]]
    : c === 'instagram' ? [[world.instagram.id, '@' + world.instagram.username]]
    : [[world.twilio.number, '+' + world.twilio.number]];
  a.innerHTML = options.map(([v, t]) => `<option value="${v}">${t}</option>`).join('');
}
function fillCustomers() {
  const c = $('channel').value;
  $('customer').innerHTML = world.customers.filter(x => x.channel === (c)).map(x =>
    `<option value="${x.id}">${x.first_name} ${x.last_name} · ${x.id}</option>`).join('');
}
function esc(s) { return String(s ?? '').replace(/[&<>"]/g, ch => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[ch])); }
async function refresh() {
  if (!world) return;
  const q = new URLSearchParams({channel: $('channel').value, customer: $('customer').value});
  const log = await (await fetch('/sandbox/api/messages?' + q)).json();
  const thread = $('thread');
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
  thread.innerHTML = log.map(m => `<div class="bubble ${m.from}">
      <div>${m.text ? esc(m.text) : '<em>[' + esc(m.kind) + ']</em>'}</div>
      <div class="meta">${m.from === 'business' ? 'Negocio' : 'Cliente'} · ${new Date(m.at).toLocaleTimeString()}
        ${m.status ? ' · ' + esc(m.status) : ''} · <span class="id" data-id="${esc(m.id)}" title="Usar como mensaje objetivo">${esc(m.id.slice(0, 24))}</span></div>
    </div>`).join('');
  if (atBottom) thread.scrollTop = thread.scrollHeight;
}
$('thread').addEventListener('click', (e) => { if (e.target.dataset.id) $('target').value = e.target.dataset.id; });
$('channel').addEventListener('change', () => { fillAccounts(); fillCustomers(); refresh(); });
$('customer').addEventListener('change', refresh);
$('read').addEventListener('click', async () => {
  await fetch('/sandbox/api/read', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({channel: $('channel').value, account: $('account').value, from: $('customer').value})});
  refresh();
});
async function business(event) {
  const answer = await (await fetch('/sandbox/api/business', {method: 'POST',
    headers: {'content-type': 'application/json'}, body: JSON.stringify(event)})).json();
  $('result').textContent = answer.error ? 'Error: ' + answer.error : 'Buzón respondió ' + answer.webhook_status;
}
$('restrict').addEventListener('click', () => business({event: 'restriction', hours: 24}));
$('lift').addEventListener('click', () => business({event: 'lift_restriction'}));
$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = {channel: $('channel').value, account: $('account').value, from: $('customer').value,
    type: $('kind').value, text: $('text').value, echo: $('echo').checked};
  if (['reaction', 'edit', 'revoke'].includes(body.type)) body.target = $('target').value;
  else if ($('target').value) body.reply_to = $('target').value;
  if (body.type === 'reaction') body.emoji = $('emoji').value;
  const file = $('file').files[0];
  if (file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let bin = ''; bytes.forEach(b => bin += String.fromCharCode(b));
    body.file_base64 = btoa(bin); body.mime_type = file.type || 'application/octet-stream'; body.file_name = file.name;
  }
  const answer = await (await fetch('/sandbox/api/send', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})).json();
  $('result').textContent = answer.error ? 'Error: ' + answer.error : 'Enviado ' + answer.id + ' · Buzón respondió ' + answer.webhook_status;
  $('text').value = ''; $('target').value = '';
  refresh();
});
load().then(refresh);
setInterval(refresh, 1000);
</script>
</body>
</html>
"##;
