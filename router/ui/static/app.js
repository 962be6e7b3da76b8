// router's dashboard: plain ES modules, no build step (docs/dashboard.md).
import { jsonViewer } from "./json.js";

const TOKEN = document.querySelector('meta[name="router-token"]').content;
const $ = (sel, root = document) => root.querySelector(sel);
const view = $("#view");
const show = (...parts) => view.replaceChildren(...parts.flat(Infinity).filter((p) => p !== null && p !== undefined));
const state = { overview: null, live: [], filters: { function: "", source: "", status: "" }, before: null };

// ------------------------------------------------------------------ helpers

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function api(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-Router-Token": TOKEN },
  });
  const answer = await r.json();
  if (!r.ok) throw new Error(answer.error || r.statusText);
  return answer;
}

function toast(text, bad = false) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "show bad" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ""), bad ? 6000 : 3000);
}

const act = (fn) => async (ev) => {
  ev.preventDefault();
  try { await fn(ev); } catch (err) { toast(err.message, true); }
};

const ms = (v) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(v < 10 ? 2 : 0)} ms`);
const when = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "–");
const ago = (t) => {
  if (!t) return "–";
  const s = Math.max(0, Date.now() / 1000 - t);
  return s < 60 ? `${s.toFixed(0)} s ago` : s < 3600 ? `${(s / 60).toFixed(0)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
};
const invLink = (row, text) => h("a", { href: row.seq ? `#/inv/${row.seq}` : `#/inv/id/${row.id}` }, text);
const statusTag = (s) => h("span", { class: `status s-${s}` }, s);

// ------------------------------------------------------------------ overview

async function showOverview() {
  const o = (state.overview = await api("/api/overview"));
  const fnRows = o.functions.map((f) => h("tr", { class: f.errors ? "has-errors" : "" },
    h("td", {}, h("a", { href: `#/live?function=${encodeURIComponent(f.name)}` }, f.name)),
    h("td", {}, f.runtime), h("td", { class: "num" }, `${f.busy ?? "–"} / ${f.workers ?? "–"}`),
    h("td", { class: "num" }, f.concurrency), h("td", { class: "num" }, f.invocations),
    h("td", { class: "num err" }, f.errors || ""), h("td", { class: "num" }, ms(f.p50_ms)),
    h("td", { class: "num" }, ms(f.p99_ms)),
    h("td", {}, f.last ? [statusTag(f.last.status), " ", invLink(f.last, ago(f.last.started_at))] : "–")));
  const kinds = {};
  for (const t of o.triggers) (kinds[t.kind] ||= []).push(t);
  show(
    h("h2", {}, "Functions"),
    h("table", { id: "functions" }, h("thead", {}, h("tr", {}, ["function", "runtime", "busy / warm", "concurrency",
      "invocations", "errors", "p50", "p99", "last"].map((c) => h("th", {}, c)))), h("tbody", {}, fnRows)),
    h("h2", {}, "Triggers"),
    h("div", { id: "triggers", class: "cards" }, Object.entries(kinds).map(([kind, ts]) =>
      h("section", { class: "card" }, h("h3", {}, kind), ts.map(triggerItem)))),
    h("h2", {}, "Embedded AWS"), awsSection(o.aws),
    h("p", { class: "muted" }, `async queue: ${o.queue.queued} queued, ${o.queue.dead_letters} dead letter(s) — `,
      h("a", { href: "#/queue" }, "see them")));
}

function triggerItem(t) {
  const lines = [];
  if (t.urls) lines.push(...t.urls.map((u) => h("div", {}, h("code", {}, t.route), " ", h("a", { href: u, target: "_blank" }, u))));
  if (t.kind === "s3") lines.push(h("div", {}, `s3://${t.bucket}`, t.folder ? [" ← ", h("code", {}, t.folder)] : " (writes)"));
  if (t.kind === "schedule") lines.push(h("div", {}, h("code", {}, t.expression), ` next: ${t.next_fire ?? "never"}`));
  if (t.mapping) {
    const m = t.mapping;
    lines.push(h("div", {}, `${m.table ?? m.queue ?? ""} batch ${m.batch_size ?? ""} ${m.state ?? ""}`
      + (m.starting_position ? ` from ${m.resumed ? "checkpoint" : m.starting_position}` : "")));
    for (const s of m.shards || []) {
      const blocked = s.pending > 0 && s.failures > 0;
      lines.push(h("div", { class: blocked ? "error" : "muted" }, `shard …${String(s.shard_id ?? "").slice(-8)}: `
        + `read ${s.read ?? 0}, delivered ${s.delivered ?? 0}, lag ${s.pending ?? 0}`
        + (s.failures ? `, ${s.failures} failed batch(es)` : "") + (blocked ? " — blocked, retrying" : "")
        + (s.finished ? " (closed)" : "")));
    }
    const progress = Object.entries(m).filter(([k, v]) => typeof v === "number" && /pending|inflight|in_flight|received/.test(k));
    if (progress.length) lines.push(h("div", { class: "muted" }, progress.map(([k, v]) => `${k} ${v}`).join(", ")));
  }
  if (t.problem) lines.push(h("div", { class: "error" }, t.problem));
  const buttons = [h("button", { onclick: act(() => openEditor(t)) }, "Invoke…")];
  if (t.kind === "schedule") buttons.unshift(h("button", { class: "fire", "data-trigger": t.name, onclick: act(() => fire(t.name)) }, "Fire now"));
  if (t.kind === "s3" && t.folder) buttons.push(dropButton(t));
  return h("div", { class: `trigger${t.enabled ? "" : " disabled"}`, "data-trigger": t.name },
    h("div", {}, h("strong", {}, t.name), " → ", t.function, t.enabled ? "" : " (disabled)"), lines, h("div", { class: "actions" }, buttons));
}

function dropButton(t) {
  const input = h("input", { type: "file", hidden: true, onchange: act(async () => {
    const file = input.files[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const key = (t.prefix || "") + file.name;
    const r = await post("/api/drop", { trigger: t.name, key, data_base64: btoa(bin) });
    toast(`dropped ${r.key} (${r.size} bytes) into ${t.name}`);
    input.value = "";
  }) });
  return h("span", {}, input, h("button", { onclick: () => input.click() }, "Drop a file…"));
}

function awsSection(aws) {
  if (!aws.endpoint) return h("p", { class: "muted" }, "no AWS endpoint");
  const groups = [["buckets", "objects"], ["tables", "items"], ["queues", "messages"], ["topics", "subscriptions"], ["buses", "rules"]];
  return h("div", { id: "aws", class: "cards" }, h("p", { class: "muted" }, `${aws.mode} at ${aws.endpoint}`),
    groups.filter(([g]) => aws[g] && aws[g].length).map(([g, unit]) => h("section", { class: "card" }, h("h3", {}, g),
      aws[g].map((r) => h("div", { "data-resource": `${g}/${r.name}` }, h("strong", {}, r.name), " ", unit ? `${r.count ?? "?"} ${unit}` : "",
        r.problem ? h("span", { class: "error" }, ` ${r.problem}`) : null, resourceAction(g, r.name))))));
}

function resourceAction(group, name) {
  const verbs = { queues: ["Send…", "/api/send", (text) => ({ queue: name, body: text })],
    topics: ["Publish…", "/api/publish", (text) => ({ topic: name, message: text })],
    buses: ["Put event…", "/api/put-event", (text) => ({ bus: name, ...JSON.parse(text) })] };
  const verb = verbs[group];
  if (!verb) return null;
  const sample = group === "buses" ? JSON.stringify({ source: "dashboard", detail_type: "test", detail: {} }, null, 2)
    : JSON.stringify({ hello: name });
  return h("button", { onclick: act(() => openText(`${verb[0]} ${name}`, sample, async (text) => {
    const r = await post(verb[1], verb[2](text));
    toast(`${verb[0].replace("…", "")}: ${r.message_id ?? r.event_id ?? "ok"}`);
  }, "", null, verb[0].replace("…", ""))) }, verb[0]);
}

async function fire(name) {
  const r = await post("/api/fire", { trigger: name });
  toast(`fired ${r.trigger} → ${r.function} (event ${r.event_id})`);
}

// ------------------------------------------------------------------ the editor

function openText(title, text, onGo, note = "", onAsync = null, goLabel = "Invoke") {
  const dlg = $("#editor");
  $("#editor-go").textContent = goLabel;
  $("#editor-title").textContent = title;
  $("#editor-note").textContent = note;
  $("#editor-text").value = text;
  $("#editor-error").textContent = "";
  $("#editor-async").hidden = !onAsync;
  const run = (fn) => async () => {
    try { await fn($("#editor-text").value); dlg.close(); } catch (err) { $("#editor-error").textContent = err.message; }
  };
  $("#editor-go").onclick = run(onGo);
  $("#editor-async").onclick = onAsync ? run(onAsync) : null;
  dlg.showModal();
}

async function openEditor(t) {
  let text = "{}", note = "";
  try {
    const s = await api(`/api/sample?trigger=${encodeURIComponent(t.name)}`);
    text = JSON.stringify(s.event, null, 2);
    note = `pre-filled by router event for this ${t.kind} trigger`;
  } catch (err) { note = err.message; }
  const parse = (v) => { try { return JSON.parse(v); } catch (e) { throw new Error(`not JSON: ${e.message}`); } };
  openText(`Invoke ${t.function} (${t.name})`, text, async (v) => {
    const r = await post("/api/invoke", { function: t.function, trigger: t.name, event: parse(v) });
    toast(`${r.function}: ${r.status}`, r.status !== "ok");
    location.hash = `#/inv/id/${r.id}`;
  }, note, async (v) => {
    const r = await post("/api/invoke", { function: t.function, trigger: t.name, event: parse(v), async: true });
    toast(`queued event ${r.event_id}`);
  });
}

// ------------------------------------------------------------------ live

const matches = (row) => Object.entries(state.filters).every(([k, v]) => !v
  || (k === "status" && v === "failed" ? row.status !== "ok" : row[k] === v));

function liveRow(row) {
  return h("tr", { class: row.status === "ok" ? "" : "failed", "data-id": row.id },
    h("td", {}, invLink(row, when(row.started_at))), h("td", {}, row.function), h("td", {}, row.trigger ?? "–"),
    h("td", {}, row.source), h("td", {}, statusTag(row.status)), h("td", { class: "num" }, row.attempt),
    h("td", { class: "num" }, ms(row.duration_ms)), h("td", { class: "num" }, row.init_duration_ms ? ms(row.init_duration_ms) : ""),
    h("td", { class: "err" }, row.error ? `${row.error_type ?? ""}: ${row.error}` : ""));
}

async function showLive(params) {
  for (const k of Object.keys(state.filters)) state.filters[k] = params.get(k) || "";
  const q = new URLSearchParams({ ...state.filters, limit: 100 });
  const page = await api(`/api/invocations?${q}`);
  state.live = page.rows;
  state.before = page.before;
  const fns = (state.overview || (state.overview = await api("/api/overview"))).functions.map((f) => f.name);
  const select = (name, options) => h("label", {}, `${name} `, h("select", { name, onchange: (e) => {
    const p = new URLSearchParams(location.hash.split("?")[1] || "");
    e.target.value ? p.set(name, e.target.value) : p.delete(name);
    location.hash = `#/live?${p}`;
  } }, h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: state.filters[name] === o }, o))));
  const sources = ["http", "s3", "schedule", "dynamodb", "sqs", "invoke", "replay", "destination", "lambda-api"];
  const statuses = ["ok", "failed", "error", "timeout", "crashed", "throttled"];
  const more = h("button", { onclick: act(async () => {
    const next = await api(`/api/invocations?${new URLSearchParams({ ...state.filters, limit: 100, before: state.before })}`);
    state.before = next.before;
    $("#live tbody").append(...next.rows.map(liveRow));
    more.hidden = !state.before;
  }) }, "Older");
  more.hidden = !state.before;
  show(h("h2", {}, "Live invocations"),
    h("div", { class: "filters" }, select("function", fns), select("source", sources), select("status", statuses)),
    h("table", { id: "live" }, h("thead", {}, h("tr", {}, ["time", "function", "trigger", "source", "status", "attempt",
      "duration", "init", "error"].map((c) => h("th", {}, c)))), h("tbody", {}, state.live.map(liveRow))), more);
}

function onLive(rows) {
  state.received = (state.received || 0) + rows.length;  // bench/dashboard.py reads it
  const body = $("#live tbody");
  if (!body) return;
  const fresh = rows.filter(matches).reverse();
  body.prepend(...fresh.map(liveRow));
  while (body.children.length > 500) body.lastElementChild.remove();
}

// ------------------------------------------------------------------ one invocation

function section(title, ...content) { return h("section", { class: "panel" }, h("h3", {}, title), content); }

function chainTree(inv) {
  const item = (n, self = false) => h("li", { class: self ? "self" : "" }, n.id && !n.missing && !self ? invLink(n, n.function) : h("strong", {}, n.function ?? "?"),
    " ", n.status ? statusTag(n.status) : null, n.replay ? " (replay)" : "", n.unknown ? " (one of its invocations)" : "",
    n.missing ? " (no longer in the journal)" : "", n.caused && n.caused.length ? h("ul", {}, n.caused.map((c) => item(c))) : null);
  let tree = item({ ...inv, caused: inv.chain.caused }, true);
  for (const c of [...inv.chain.causes].reverse()) {
    const head = c.id && !c.missing ? invLink(c, c.function) : h("strong", {}, c.function ?? "?");
    tree = h("li", {}, head, " ", c.status ? statusTag(c.status) : "", c.missing ? " (no longer in the journal)" : "",
      c.unknown ? " (one of its invocations)" : "", h("ul", {}, tree));
  }
  const root = h("ul", { class: "chain", id: "chain" }, tree);
  if (!inv.chain.causes.length && !inv.chain.caused.length) root.append(h("li", { class: "muted" }, "no cause recorded and nothing caused"));
  return root;
}

async function showInvocation(path) {
  const q = path.startsWith("id/") ? `id=${encodeURIComponent(path.slice(3))}` : `seq=${encodeURIComponent(path)}`;
  const inv = await api(`/api/invocation?${q}`);
  const t = [["status", statusTag(inv.status)], ["attempt", inv.attempt], ["source", inv.source], ["trigger", inv.trigger ?? "–"],
    ["started", new Date(inv.started_at * 1000).toISOString()], ["duration", ms(inv.duration_ms)],
    ["billed", `${inv.billed_duration_ms} ms`], ["init", inv.init_duration_ms ? ms(inv.init_duration_ms) : "warm"],
    ["max memory", `${inv.max_memory_mb} MB`], ["request id", h("code", {}, inv.id)]];
  show(
    h("h2", {}, `${inv.function} `, statusTag(inv.status), " ", h("button", { id: "replay", onclick: act(async () => {
      const r = await post("/api/replay", { id: inv.id });
      toast(`replayed: ${r.status}`, r.status !== "ok");
      location.hash = `#/inv/id/${r.id}`;
    }) }, "Replay")),
    h("dl", { class: "timings" }, t.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    section("Event", h("div", { id: "event" }, jsonViewer(inv.event, { label: "the event" }))),
    inv.status === "ok" ? section("Result", h("div", { id: "result" }, jsonViewer(inv.result, { label: "the result" })))
      : section("Error", h("div", { id: "error", class: "failed" }, jsonViewer(inv.error, { label: "the error", openDepth: 3 }))),
    section("Log", h("pre", { id: "log" }, inv.logs || "(empty)")),
    section("Attempts", h("table", { id: "attempts" }, h("tbody", {}, inv.attempts.map((a) => h("tr", { class: a.status === "ok" ? "" : "failed" },
      h("td", {}, invLink(a, `#${a.attempt}`)), h("td", {}, when(a.started_at)), h("td", {}, statusTag(a.status)),
      h("td", {}, ms(a.duration_ms)), h("td", { class: "err" }, a.error ?? "")))))),
    section("Chain", chainTree(inv)),
    Object.keys(inv.extra || {}).length ? section("Extra", jsonViewer(inv.extra, { label: "extra" })) : null);
}

// ------------------------------------------------------------------ queue

async function showQueue() {
  const q = await api("/api/queue");
  const reload = () => route();
  show(h("h2", {}, "Async queue"),
    q.queued.length ? h("table", { id: "queued" }, h("thead", {}, h("tr", {}, ["event", "function", "trigger", "state", "attempts",
      "next attempt", "last error", ""].map((c) => h("th", {}, c)))), h("tbody", {}, q.queued.map((e) => h("tr", {},
      h("td", {}, h("code", {}, e.id.slice(0, 8))), h("td", {}, e.function), h("td", {}, e.trigger ?? "–"), h("td", {}, e.state),
      h("td", { class: "num" }, e.attempts), h("td", {}, e.due_at > q.now ? `in ${(e.due_at - q.now).toFixed(1)} s` : "now"),
      h("td", { class: "err" }, e.last_error ? e.last_error.errorMessage ?? JSON.stringify(e.last_error) : ""),
      h("td", {}, e.state === "queued" && e.due_at > q.now ? h("button", { onclick: act(async () => {
        await post("/api/queue/retry", { id: e.id }); toast("retrying now"); reload(); }) }, "Retry now") : "")))))
      : h("p", { class: "muted" }, "nothing queued"),
    h("h2", {}, "Dead letters"),
    q.dead_letters.length ? h("table", { id: "dead" }, h("thead", {}, h("tr", {}, ["event", "function", "failed", "condition",
      "error", ""].map((c) => h("th", {}, c)))), h("tbody", {}, q.dead_letters.map((d) => h("tr", { class: "failed" },
      h("td", {}, h("code", {}, d.id.slice(0, 8))), h("td", {}, d.function), h("td", {}, when(d.failed_at)), h("td", {}, d.condition),
      h("td", { class: "err" }, d.error ? d.error.errorMessage ?? JSON.stringify(d.error) : ""),
      h("td", {}, h("button", { onclick: act(async () => { await post("/api/dead-letters/retry", { id: d.id }); toast("queued again"); reload(); }) }, "Retry now"),
        h("button", { onclick: act(async () => { await post("/api/dead-letters/discard", { id: d.id }); toast("discarded"); reload(); }) }, "Discard"))))))
      : h("p", { class: "muted" }, "no dead letters"));
}

// ------------------------------------------------------------------ routing and the feed

async function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const name = path.startsWith("/inv/") ? "inv" : path === "/live" ? "live" : path === "/queue" ? "queue" : "overview";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.view === name);
  document.body.dataset.view = name;
  try {
    if (name === "inv") await showInvocation(path.slice(5));
    else if (name === "live") await showLive(params);
    else if (name === "queue") await showQueue();
    else await showOverview();
  } catch (err) {
    show(h("p", { class: "error" }, err.message));
  }
}

function connect() {
  const es = new EventSource("/api/events");
  let refresh = 0;
  es.onopen = () => $("#conn").classList.add("up");
  es.onerror = () => $("#conn").classList.remove("up");
  es.addEventListener("invocations", (e) => {
    const { rows } = JSON.parse(e.data);
    onLive(rows);
    if (document.body.dataset.view === "overview" && Date.now() - refresh > 2000) {
      refresh = Date.now();
      setTimeout(() => document.body.dataset.view === "overview" && !$("#editor").open && route(), 300);
    }
  });
}

window.routerDashboard = state;
window.addEventListener("hashchange", route);
connect();
route();
