// A folded, searchable JSON viewer: objects and arrays are <details>, open to `openDepth`.
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function leaf(value) {
  if (value === null) return el("span", "j-null", "null");
  if (typeof value === "string") return el("span", "j-str", JSON.stringify(value));
  if (typeof value === "number") return el("span", "j-num", String(value));
  if (typeof value === "boolean") return el("span", "j-bool", String(value));
  return el("span", "j-other", String(value));
}

function node(key, value, depth, openDepth) {
  const isArr = Array.isArray(value);
  if (value === null || typeof value !== "object") {
    const row = el("div", "j-row");
    if (key !== null) row.append(el("span", "j-key", key + ": "));
    row.append(leaf(value));
    return row;
  }
  const entries = isArr ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const box = el("details", "j-box");
  box.open = depth < openDepth;
  const sum = el("summary");
  if (key !== null) sum.append(el("span", "j-key", key + ": "));
  sum.append(el("span", "j-brace", isArr ? `[${entries.length}]` : `{${entries.length}}`));
  box.append(sum);
  const body = el("div", "j-body");
  box.append(body);
  // a fold's content is built when it is first opened: a 6 MB event stays cheap until searched
  box.fill = () => {
    if (box.filled) return;
    box.filled = true;
    for (const [k, v] of entries) body.append(node(k, v, depth + 1, openDepth));
  };
  if (box.open) box.fill();
  else box.addEventListener("toggle", box.fill, { once: true });
  return box;
}

function fillAll(tree) {
  let left;
  while ((left = [...tree.querySelectorAll("details")].filter((d) => !d.filled)).length) for (const d of left) d.fill();
}

// A viewer with a search box: matching keys and values are marked and their folds opened.
export function jsonViewer(value, { openDepth = 2, label = "" } = {}) {
  const wrap = el("div", "json");
  const bar = el("div", "j-bar");
  const search = el("input");
  search.type = "search";
  search.placeholder = `search ${label}`.trim();
  const count = el("span", "muted");
  bar.append(search, count);
  const tree = el("div", "j-tree");
  tree.append(node(null, value, 0, openDepth));
  wrap.append(bar, tree);
  search.addEventListener("input", () => {
    const q = search.value.toLowerCase();
    if (q) fillAll(tree);
    let hits = 0;
    for (const e of tree.querySelectorAll(".hit")) e.classList.remove("hit");
    if (q) {
      for (const e of tree.querySelectorAll(".j-key, .j-str, .j-num, .j-bool, .j-null")) {
        if (e.textContent.toLowerCase().includes(q)) {
          e.classList.add("hit");
          hits += 1;
          for (let p = e.parentElement; p && p !== tree; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
        }
      }
    }
    count.textContent = q ? `${hits} match${hits === 1 ? "" : "es"}` : "";
  });
  return wrap;
}
