// Running searches: the request for the query on screen (text, photo, both, or "more like this"),
// its pages, the result count and the "more like this" banner.

import { api, errorMessage } from "./api.js";
import { clearGrid, loadImage, renderCards } from "./cards.js";
import { clearError, el, setEmpty, setLoading, showError } from "./dom.js";
import { currentFilters, filterExpressions } from "./filters.js";
import { msg, setText } from "./i18n.js";
import { closePanel, openPanel } from "./panel.js";
import { PAGE_SIZE, state } from "./state.js";

const WELCOME = [msg("empty.welcomeTitle"), msg("empty.welcomeText")];
const cardActions = { similar: showSimilar, open: (product, opener) => openPanel(product, opener, showSimilar) };

export function submitSearch() {
  const text = el.input.value.trim();
  if (!text && !state.image) {
    el.input.focus();
    showError(msg("search.needInput"));
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
    showError(errorMessage(err));
    el.results.dataset.state = "error";
    if (!append) {
      clearGrid();
      state.shown = 0;
      el.loadMore.hidden = true;
      el.count.textContent = "";
      setEmpty(msg("empty.errorTitle"), msg("empty.errorText"));
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
  el.count.textContent = "";
  el.count.dataset.count = String(n);
  const counted = msg(el.loadMore.hidden ? "results.count" : "results.countShown", { count: n });
  const parts = [[n === 0 ? msg("results.none") : counted]];
  const described = describeQuery(state.query);
  if (described) parts.push([described, "query-desc"]);
  const filters = filterExpressions(JSON.parse(state.appliedFilters || "{}"));
  if (filters.length) parts.push([msg("query.filters", { filters: filters.join(", ") }), "query-desc"]);
  if (typeof took === "number") parts.push([msg("results.took", { ms: Math.round(took) }), "muted"]);
  for (const [message, className] of parts) {
    const span = document.createElement("span");
    if (className) span.className = className;
    setText(span, message);
    el.count.appendChild(span);
  }
  if (n === 0) {
    const filtered = Object.keys(currentFilters()).length > 0;
    setEmpty(msg("empty.noMatchTitle"), msg(filtered ? "empty.noMatchFiltered" : "empty.noMatchText"));
  }
}

// e.g. ' for “red dress” + photo (image weight 0.50)', as one message of messages (so it is
// written again in another language); the query's own text stays as typed
function describeQuery(query) {
  if (!query || query.kind !== "search") return null;
  const text = query.text ? msg("query.text", { text: query.text }) : null;
  let photo = null;
  if (query.image) {
    const weight = Number(el.imageWeight.value).toFixed(2);
    photo = query.text ? msg("query.photoWeighted", { weight }) : msg("query.photo");
  }
  const what = text && photo ? msg("query.textAndPhoto", { text, photo }) : text || photo;
  return what ? msg("query.for", { what }) : null;
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
