// VMR dashboard: polls the REST API (the same calls as `vmr`) and draws the
// cluster.  No framework, no build step; text goes in through textContent
// only.  A Keystone token, when the API asks for one, stays in this tab
// (sessionStorage).
'use strict';

const POLL_MS = 1000;          // status, hosts, recoveries
const CAPACITY_MS = 30000;     // capacity asks Placement: not every second
const OPEN = ['detected', 'confirming', 'fencing', 'fenced', 'acting',
              'blocked'];
const TOKEN_KEY = 'vmr-token';

let lastCapacity = 0;
const expanded = new Set();    // recovery ids whose timeline is open

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function ago(epoch) {
  if (epoch === null || epoch === undefined) return '';
  const s = Math.max(0, Date.now() / 1000 - epoch);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 172800) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' days ago';
}

function clock(epoch) {
  return new Date(epoch * 1000).toISOString().substring(11, 19) + 'Z';
}

class Unauthorized extends Error {}
class Forbidden extends Error {}

async function api(path) {
  const headers = {'Accept': 'application/json'};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers['X-Auth-Token'] = token;
  const resp = await fetch(path, {headers});
  if (resp.status === 401) throw new Unauthorized('the API wants a token');
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const message = body && body.error ? body.error.message : resp.statusText;
    const error = resp.status === 403 ? Forbidden : Error;
    throw new error(path + ': HTTP ' + resp.status + ': ' + message);
  }
  return body;
}

function renderStatus(status) {
  const leader = status.leader ? status.leader.member : null;
  $('leader').textContent = leader || 'none';
  $('leader').className = leader ? '' : 'bad';
  const brake = status.brake;
  $('brake').textContent = brake ? 'ENGAGED' : 'released';
  $('brake').className = brake ? 'bad' : '';
  const paused = status.paused;
  $('paused').textContent = paused ? 'yes (' + (paused.by || '?') +
      (paused.reason ? ': ' + paused.reason : '') + ')' : 'no';
  $('paused').className = paused ? 'warn' : '';
  $('agents').textContent = (status.members || []).length + ' live';
  const check = status.preflight || {};
  $('ready').textContent = check.ready === false
      ? 'NO: ' + (check.problems || []).join('; ')
      : (check.ready ? 'yes' : 'not checked');
  $('ready').className = check.ready === false ? 'bad' : '';
  renderFencePaths(status.fence_paths);
}

function renderFencePaths(view) {
  const box = $('fence-paths');
  box.replaceChildren();
  if (!view || !view.checked) {
    box.append(el('p', {class: 'muted'}, 'not checked yet'));
    return;
  }
  const failed = view.failed || [];
  box.append(el('p', {class: failed.length ? 'bad' : 'good'},
      view.checked + ' hosts checked, ' +
      (failed.length ? failed.length + ' FAILED' : 'all ok')));
  for (const entry of failed) {
    box.append(el('p', {'data-fence-failed': entry.host},
        el('strong', {}, entry.host), ': ', entry.why || 'failed'));
  }
}

function renderHosts(body) {
  const zones = new Map();
  for (const host of body.hosts) {
    const zone = host.zone || 'no zone';
    if (!zones.has(zone)) zones.set(zone, []);
    zones.get(zone).push(host);
  }
  const box = $('hosts');
  box.replaceChildren();
  if (!zones.size) box.append(el('p', {class: 'muted'}, 'no hosts yet'));
  for (const [zone, hosts] of [...zones.entries()].sort()) {
    const tiles = el('div', {class: 'tiles'});
    for (const host of hosts) {
      const state = host.maintenance && host.state === 'up'
          ? 'maintenance' : host.state;
      tiles.append(el('div', {class: 'host', 'data-host': host.host,
                              'data-state': state,
                              'data-live': String(host.live),
                              title: host.reason || ''},
          el('div', {class: 'name'}, host.host),
          el('div', {class: 'state'}, state, ' · ', ago(host.state_since)),
          host.recovery ? el('div', {class: 'state'}, host.recovery) : null));
    }
    box.append(el('div', {class: 'zone'}, el('h3', {}, zone), tiles));
  }
}

function stepsText(rec) {
  const parts = Object.entries(rec.steps_by_state || {})
      .filter(([, n]) => n).map(([state, n]) => n + ' ' + state);
  return (parts.join(', ') || 'no steps') + ' of ' + (rec.steps || 0);
}

async function renderRecoveries(body) {
  const box = $('recoveries');
  const list = body.recoveries || [];
  const open = list.filter((r) => OPEN.includes(r.state));
  const closed = list.filter((r) => !OPEN.includes(r.state)).slice(0, 5);
  const details = await Promise.all(open.slice(0, 10).map(
      (r) => api('/v1/recoveries/' + encodeURIComponent(r.id))
          .then((b) => b.recovery).catch(() => null)));
  const byId = new Map(details.filter(Boolean).map((r) => [r.id, r]));
  box.replaceChildren();
  if (!list.length) box.append(el('p', {class: 'muted'}, 'none yet'));
  for (const rec of [...open, ...closed]) {
    const full = byId.get(rec.id);
    const node = el('details', {class: 'recovery', 'data-recovery': rec.id,
                                'data-state': rec.state},
        el('summary', {}, el('strong', {}, rec.id), ' ', rec.host || '',
           ' ', el('span', {class: rec.state === 'blocked' ||
                                   rec.state === 'failed' ? 'bad' : ''},
                   rec.state.toUpperCase()),
           ' · ', stepsText(rec), ' · ', ago(rec.updated_at)));
    node.open = expanded.has(rec.id) || OPEN.includes(rec.state);
    node.addEventListener('toggle', () => {
      if (node.open) expanded.add(rec.id); else expanded.delete(rec.id);
    });
    if (full) node.append(recoveryBody(full));
    box.append(node);
  }
}

function recoveryBody(rec) {
  const wrap = el('div');
  const fencing = rec.fencing || {};
  if (fencing.reason) {
    wrap.append(el('p', {class: fencing.verified ? 'good' : 'bad'},
        'Fencing: ', fencing.reason));
  }
  if ((rec.steps || []).length) {
    const rows = rec.steps.map((s) => el('tr', {},
        el('td', {}, s.server_name || s.server_id), el('td', {}, s.action),
        el('td', {}, s.state),
        el('td', {}, s.error || s.result || s.destination || '')));
    wrap.append(el('table', {}, el('tr', {}, el('th', {}, 'server'),
        el('th', {}, 'action'), el('th', {}, 'state'), el('th', {}, '')),
        ...rows));
  }
  const events = (rec.timeline || []).map((e) => el('tr', {},
      el('td', {}, clock(e.at)), el('td', {}, e.event),
      el('td', {}, e.detail || '')));
  if (events.length) wrap.append(el('table', {class: 'timeline'}, ...events));
  return wrap;
}

function renderCapacity(body) {
  const box = $('capacity');
  const cap = body.capacity;
  const rows = [...(cap.groups || []), cap.cloud].filter(Boolean).map((g) =>
      el('tr', {}, el('td', {}, g.kind + ' ' + g.name),
         el('td', {class: g.n_plus > 0 ? 'good' : 'bad'},
            'survives ' + g.n_plus)));
  box.replaceChildren(el('table', {}, ...rows),
                      el('p', {class: 'muted'}, cap.summary || ''));
}

function showError(message) {
  const node = $('error');
  node.hidden = !message;
  node.textContent = message || '';
}

function notShown(id, err) {
  // a project reader sees its recoveries, not the cloud's hosts
  $(id).replaceChildren(el('p', {class: 'muted', 'data-forbidden': 'true'},
      'not shown to your role (needs admin or a system reader): ' +
      err.message));
}

async function poll() {
  try {
    const [status, hosts, recoveries] = await Promise.allSettled([
      api('/v1/status'), api('/v1/hosts'), api('/v1/recoveries?limit=50')]);
    const failed = [status, hosts, recoveries].filter(
        (r) => r.status === 'rejected').map((r) => r.reason);
    if (failed.some((err) => err instanceof Unauthorized)) {
      throw failed.find((err) => err instanceof Unauthorized);
    }
    const other = failed.find((err) => !(err instanceof Forbidden));
    if (other) throw other;
    $('login').hidden = true;
    if (status.status === 'fulfilled') renderStatus(status.value);
    else $('leader').textContent = 'not shown';
    if (hosts.status === 'fulfilled') renderHosts(hosts.value);
    else notShown('hosts', hosts.reason);
    if (recoveries.status === 'fulfilled') {
      await renderRecoveries(recoveries.value);
    } else {
      notShown('recoveries', recoveries.reason);
    }
    $('updated').textContent = 'updated ' + clock(Date.now() / 1000);
    showError(null);
    if (hosts.status === 'fulfilled' &&
        Date.now() - lastCapacity > CAPACITY_MS) {
      lastCapacity = Date.now();
      api('/v1/capacity').then(renderCapacity).catch((err) => {
        $('capacity').replaceChildren(el('p', {class: 'muted'},
            'unavailable: ' + err.message));
      });
    }
  } catch (err) {
    if (err instanceof Unauthorized) {
      $('login').hidden = false;
      showError(null);
    } else {
      showError('cannot read the API: ' + err.message);
    }
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
});

poll();
