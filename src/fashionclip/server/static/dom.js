// The page's elements, and the small helpers every module shares (errors, loading, names).
// Messages are msg() keys of the strings table (i18n.js) or, for the server's own words, text.

import { setText } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export const el = {
  title: document.querySelector("title"),
  langSwitch: $("lang-switch"),
  langSelect: $("lang-select"),
  modelName: $("model-name"),
  productCount: $("product-count"),
  keyForm: $("api-key-form"),
  keyInput: $("api-key-input"),
  filters: $("filters"),
  resetFilters: $("reset-filters"),
  keywordWeight: $("keyword-weight"),
  keywordWeightValue: $("keyword-weight-value"),
  form: $("search-form"),
  input: $("search-input"),
  examples: $("examples"),
  imageWeightField: $("image-weight-field"),
  imageWeight: $("image-weight"),
  imageWeightValue: $("image-weight-value"),
  dropZone: $("drop-zone"),
  fileInput: $("image-input"),
  dropEmpty: $("drop-empty"),
  dropPreview: $("drop-preview"),
  previewImg: $("preview-img"),
  previewName: $("preview-name"),
  removeImage: $("remove-image"),
  error: $("error"),
  errorMessage: $("error-message"),
  errorClose: $("error-close"),
  banner: $("similar-banner"),
  bannerImg: $("banner-img"),
  bannerTitle: $("banner-title"),
  bannerBack: $("banner-back"),
  bannerClear: $("banner-clear"),
  count: $("results-count"),
  spinner: $("spinner"),
  results: $("results"),
  grid: $("grid"),
  empty: $("empty-state"),
  emptyTitle: $("empty-title"),
  emptyText: $("empty-text"),
  loadMore: $("load-more"),
  overlay: $("panel-overlay"),
  panel: $("product-panel"),
  panelTitle: $("panel-title"),
  panelClose: $("panel-close"),
  panelImg: $("panel-img"),
  panelId: $("panel-id"),
  panelSimilar: $("panel-similar"),
  panelMeta: $("panel-meta"),
  panelTags: $("panel-tags"),
  cardTemplate: $("card-template"),
};

// `message`: a msg() or the server's text
export function showError(message) {
  setText(el.errorMessage, message);
  el.error.hidden = false;
}

export function clearError() {
  el.error.hidden = true;
  setText(el.errorMessage, "");
}

export function setLoading(on) {
  el.spinner.hidden = !on;
  el.results.setAttribute("aria-busy", on ? "true" : "false");
  el.results.classList.toggle("is-loading", on);
  if (on) el.results.dataset.state = "loading";
}

export function setEmpty(title, text) {
  setText(el.emptyTitle, title);
  setText(el.emptyText, text);
  el.empty.hidden = el.grid.children.length > 0;
}

// a small muted paragraph in place of `container`'s content (e.g. why there are no filters)
export function showNote(container, message) {
  const note = document.createElement("p");
  note.className = "muted small";
  setText(note, message);
  container.replaceChildren(note);
}

// "baseColour" -> "Base colour", "article_type" -> "Article type"
export function humanize(name) {
  const spaced = String(name)
    .replace(/[_-]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function cssId(name) {
  return String(name).replace(/[^A-Za-z0-9_-]/g, "_");
}

export function formatNumber(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "";
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
