// fashionclip search page: plain ES modules, no build step, no external resources. This module
// starts the page: the server's status, the API key, the filters and the page's configuration
// (card fields, examples: GET /page-config), and every control's events.

import { api, hooks } from "./api.js";
import { clearError, el, setEmpty, showError } from "./dom.js";
import { renderFilters, resetFilters } from "./filters.js";
import { removeImageQuietly, updateComposedControls, wireDropZone } from "./image.js";
import { closePanel, trapFocus } from "./panel.js";
import { backFromSimilar, fetchPage, resetResults, runSearch, submitSearch } from "./search.js";
import { KEY_STORAGE, state } from "./state.js";

async function init() {
  hooks.unauthorized = () => showKeyForm(true);
  wireEvents();
  try {
    const health = await api("health");
    el.modelName.textContent = health.model;
    el.modelName.title = `${health.model} · ${health.dim}-d embeddings`;
    el.productCount.textContent = Number(health.products).toLocaleString("en-US");
    state.keyRequired = Boolean(health.api_key_required);
    document.title = `fashionclip · ${health.model} · ${health.products} products`;
  } catch (err) {
    showError(`Could not read the server status: ${err.message}`);
    el.modelName.textContent = "unavailable";
    el.productCount.textContent = "–";
    return;
  }
  if (state.keyRequired) {
    showKeyForm(!state.apiKey);
    if (!state.apiKey) {
      el.filters.innerHTML = '<p class="muted small">Enter the API key to load filters.</p>';
      setEmpty("API key needed", "This server asks for an API key. Enter it in the bar at the top to start searching.");
      el.keyInput.focus();
      return;
    }
  } else {
    state.apiKey = "";
  }
  await loadCatalogue();
}

function showKeyForm(show) {
  if (!state.keyRequired && !show) return;
  el.keyForm.hidden = false;
  el.keyForm.classList.toggle("needs-key", Boolean(show));
  if (state.apiKey && !el.keyInput.value) el.keyInput.value = state.apiKey;
}

// the filters (facets) and the page's configuration, both read from the index
async function loadCatalogue() {
  try {
    const [body, page] = await Promise.all([api("facets"), api("page-config")]);
    state.facets = body.facets || {};
    state.page = page || state.page;
    renderFilters(runSearch);
    renderExamples();
    return true;
  } catch (err) {
    el.filters.innerHTML = '<p class="muted small">Filters unavailable.</p>';
    showError(`Could not load filters: ${err.message}`);
    return false;
  }
}

function renderExamples() {
  for (const button of el.examples.querySelectorAll("button.example")) button.remove();
  for (const example of state.page.examples || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "example";
    button.textContent = example;
    button.addEventListener("click", () => {
      el.input.value = example;
      updateComposedControls();
      submitSearch();
    });
    el.examples.appendChild(button);
  }
}

function wireEvents() {
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitSearch();
  });
  el.input.addEventListener("input", updateComposedControls);
  wireDropZone();

  el.imageWeight.addEventListener("input", () => {
    el.imageWeightValue.textContent = Number(el.imageWeight.value).toFixed(2);
  });
  el.imageWeight.addEventListener("change", () => {
    if (state.query && state.query.kind === "search" && state.query.image && state.query.text) runSearch(state.query);
  });
  el.keywordWeight.addEventListener("input", () => {
    el.keywordWeightValue.textContent = Number(el.keywordWeight.value).toFixed(2);
  });
  el.keywordWeight.addEventListener("change", () => {
    if (state.query && state.query.kind === "search" && state.query.text) runSearch(state.query);
  });
  el.resetFilters.addEventListener("click", resetFilters);

  el.errorClose.addEventListener("click", clearError);
  el.loadMore.addEventListener("click", () => fetchPage(true));
  el.bannerBack.addEventListener("click", backFromSimilar);
  el.bannerClear.addEventListener("click", () => {
    el.input.value = "";
    removeImageQuietly();
    resetResults();
    el.input.focus();
  });

  el.panelClose.addEventListener("click", closePanel);
  el.overlay.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !el.panel.hidden) closePanel();
    if (event.key === "Tab" && !el.panel.hidden) trapFocus(event);
  });

  el.keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = el.keyInput.value.trim();
    state.apiKey = key;
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    clearError();
    el.keyForm.classList.toggle("needs-key", !key);
    if (!key) return;
    if (await loadCatalogue()) {
      el.keyForm.classList.remove("needs-key");
      if (state.query) runSearch(state.query);
      else resetResults();
    }
  });
}

// a module runs after the document is parsed (deferred), so the elements are there
init();
