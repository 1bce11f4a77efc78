// Running searches: the request for the query on screen (text, photo, both, or "more like this"),
// its pages, the result count and the "more like this" banner.

import { api } from "./api.js";
import { clearGrid, loadImage, renderCards } from "./cards.js";
import { clearError, el, setEmpty, setLoading, showError } from "./dom.js";
import { currentFilters, filterExpressions } from "./filters.js";
import { closePanel, openPanel } from "./panel.js";
import { PAGE_SIZE, state } from "./state.js";

const WELCOME = [
  "Search the catalogue",
  "Describe a product in your own words, drop in a photo, or both — then narrow down with the filters.",
];
const cardActions = { similar: showSimilar, open: (product, opener) => openPanel(product, opener, showSimilar) };

export function submitSearch() {
  const text = el.input.value.trim();
  if (!text && !state.image) {
    el.input.focus();
    showError("Type what you are looking for, or add a photo.");
    return;
  }
  state.previous = null;
  runSearch({ kind: "search", text, image: state.image });
}

export function runSearch(query) {
  state.query = query;
  state.offset = 0;
  return fetchPage(false);
}

// [path, fetch options] of one page of `query`; filters go as `where`
function searchRequest(query, offset) {
  const filters = currentFilters();
  state.appliedFilters = JSON.stringify(filters);
  const keywordWeight = Number(el.keywordWeight.value) || 0;
  if (query.kind === "similar") {
    const params = new URLSearchParams({ k: String(PAGE_SIZE), offset: String(offset) });
    for (const expression of filterExpressions(filters)) params.append("where", expression);
    return [`products/${encodeURIComponent(query.id)}/similar?${params}`, {}];
  }
  if (query.image) {
    const form = new FormData();
    form.append("image", query.image, query.image.name || "image");
    if (query.text) {
      form.append("text", query.text);
      form.append("image_weight", String(Number(el.imageWeight.value)));
      if (keywordWeight > 0) form.append("keyword_weight", String(keywordWeight));
    }
    if (Object.keys(filters).length) form.append("where", JSON.stringify(filters));
    form.append("k", String(PAGE_SIZE));
    form.append("offset", String(offset));
    return ["search/upload", { method: "POST", body: form }];
  }
  const body = { text: query.text, k: PAGE_SIZE, offset };
  if (Object.keys(filters).length) body.where = filters;
  if (keywordWeight > 0) body.keyword_weight = keywordWeight;
  return ["search", { method: "POST", json: body }];
}

export async function fetchPage(append) {
  const query = state.query;
  if (!query) return;
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const seq = ++state.seq;
  const offset = append ? state.offset : 0;
  const [path, options] = searchRequest(query, offset);
  clearError();
  setLoading(true);
  el.loadMore.disabled = true;
  renderBanner();
  try {
    const body = await api(path, { ...options, signal: controller.signal });
    if (seq !== state.seq) return;
    const results = body.results || [];
    if (!append) clearGrid();
    renderCards(results, cardActions);
    state.offset = offset + results.length;
    state.shown = append ? state.shown + results.length : results.length;
    el.loadMore.hidden = !body.has_more;
    renderCount(body.took_ms);
    el.results.dataset.state = "done";
  } catch (err) {
    if (err && err.name === "AbortError") return;
    if (seq !== state.seq) return;
    showError(err.message || String(err));
    el.results.dataset.state = "error";
    if (!append) {
      clearGrid();
      state.shown = 0;
      el.loadMore.hidden = true;
      el.count.textContent = "";
      setEmpty("No results", "The search could not run. Fix the problem above and try again.");
    }
  } finally {
    if (seq === state.seq) {
      setLoading(false);
      el.loadMore.disabled = false;
      el.results.dataset.seq = String(seq);
    }
  }
}

function renderCount(took) {
  const n = state.shown;
  let text;
  if (n === 0) text = "No products match";
  else text = `${n} product${n === 1 ? "" : "s"}${el.loadMore.hidden ? "" : " shown"}`;
  el.count.textContent = text;
  el.count.dataset.count = String(n);
  const described = describeQuery(state.query);
  if (described) {
    const desc = document.createElement("span");
    desc.className = "query-desc";
    desc.textContent = described;
    el.count.appendChild(desc);
  }
  if (typeof took === "number") {
    const small = document.createElement("span");
    small.className = "muted";
    small.textContent = ` · ${Math.round(took)} ms`;
    el.count.appendChild(small);
  }
  if (n === 0) {
    const filtered = Object.keys(currentFilters()).length > 0;
    setEmpty("No matching products", filtered ? "Try removing a filter or changing the query." : "Try a different query.");
  }
}

// e.g. ' for “red dress” + photo (image weight 0.50) · gender=Women'
function describeQuery(query) {
  if (!query) return "";
  const parts = [];
  if (query.kind === "search" && query.text) parts.push(`\u201c${query.text}\u201d`);
  if (query.kind === "search" && query.image) {
    parts.push(query.text ? `photo (image weight ${Number(el.imageWeight.value).toFixed(2)})` : "the photo");
  }
  const filters = filterExpressions(JSON.parse(state.appliedFilters || "{}"));
  let out = parts.length ? ` for ${parts.join(" + ")}` : "";
  if (filters.length) out += ` \u00b7 ${filters.join(", ")}`;
  return out;
}

export function resetResults() {
  if (state.controller) state.controller.abort();
  state.seq++;
  state.query = null;
  state.previous = null;
  state.offset = 0;
  state.shown = 0;
  clearGrid();
  setLoading(false);
  el.results.dataset.state = "idle";
  el.count.textContent = "";
  el.loadMore.hidden = true;
  renderBanner();
  setEmpty(...WELCOME);
}

// ------------------------------------------------------------------ more like this
export function showSimilar(product) {
  if (state.query && state.query.kind === "search") state.previous = state.query;
  closePanel();
  runSearch({ kind: "similar", id: product.id, title: product.text, image_url: product.image_url });
  window.scrollTo({ top: 0, behavior: "smooth" });
}

function renderBanner() {
  const query = state.query;
  if (!query || query.kind !== "similar") {
    el.banner.hidden = true;
    return;
  }
  el.banner.hidden = false;
  el.bannerTitle.textContent = query.title || query.id;
  el.bannerBack.hidden = !state.previous;
  if (query.image_url) {
    el.bannerImg.hidden = false;
    el.bannerImg.alt = query.title || "";
    loadImage(el.bannerImg, query.image_url);
  } else {
    el.bannerImg.hidden = true;
  }
}

export function backFromSimilar() {
  const previous = state.previous;
  state.previous = null;
  if (previous) runSearch(previous);
  else resetResults();
}
