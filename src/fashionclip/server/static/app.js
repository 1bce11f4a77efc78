// fashionclip search page: plain ES2020, no build step, no external resources.
"use strict";

(() => {
  const PAGE_SIZE = 24;
  const KEY_STORAGE = "fashionclip.apiKey";
  const EXAMPLES = ["red dress for women", "black leather handbag", "white sneakers", "denim jacket", "gold watch"];
  const CARD_FIELDS = ["articleType", "baseColour", "gender"];

  const $ = (id) => document.getElementById(id);
  const el = {
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

  const state = {
    keyRequired: false,
    apiKey: sessionStorage.getItem(KEY_STORAGE) || "",
    facets: {},
    image: null, // the chosen File
    previewUrl: null,
    query: null, // the search on screen: {kind: "search", text, image} | {kind: "similar", id, title, image_url}
    previous: null, // the search to go back to from "more like this"
    offset: 0,
    shown: 0,
    seq: 0, // newest request; older answers are dropped
    controller: null,
    blobUrls: [],
    appliedFilters: "{}",
    panelFor: null,
    lastFocus: null,
    observer: null,
  };

  // ------------------------------------------------------------------ API
  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (state.apiKey) headers.set("X-API-Key", state.apiKey);
    if (options.json !== undefined) {
      headers.set("Content-Type", "application/json");
      options = { ...options, body: JSON.stringify(options.json) };
    }
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError("Cannot reach the server. Check that it is running and try again.", 0, "network");
    }
    let body = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
    }
    if (!response.ok) {
      const detail = body && body.error ? body.error : null;
      const message = detail && detail.message ? detail.message : `The server answered ${response.status} ${response.statusText}`.trim();
      if (response.status === 401) {
        showKeyForm(true);
      }
      throw new ApiError(message, response.status, detail ? detail.code : "http_" + response.status);
    }
    return body;
  }

  function keyHeaders() {
    return state.apiKey ? { "X-API-Key": state.apiKey } : {};
  }

  // ------------------------------------------------------------------ errors & loading
  function showError(message) {
    el.errorMessage.textContent = message;
    el.error.hidden = false;
  }

  function clearError() {
    el.error.hidden = true;
    el.errorMessage.textContent = "";
  }

  function setLoading(on) {
    el.spinner.hidden = !on;
    el.results.setAttribute("aria-busy", on ? "true" : "false");
    el.results.classList.toggle("is-loading", on);
    if (on) el.results.dataset.state = "loading";
  }

  // ------------------------------------------------------------------ startup
  async function init() {
    wireEvents();
    renderExamples();
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
    await loadFacets();
  }

  function showKeyForm(show) {
    if (!state.keyRequired && !show) return;
    el.keyForm.hidden = false;
    el.keyForm.classList.toggle("needs-key", Boolean(show));
    if (state.apiKey && !el.keyInput.value) el.keyInput.value = state.apiKey;
  }

  async function loadFacets() {
    try {
      const body = await api("facets");
      state.facets = body.facets || {};
      renderFilters();
      return true;
    } catch (err) {
      el.filters.innerHTML = '<p class="muted small">Filters unavailable.</p>';
      showError(`Could not load filters: ${err.message}`);
      return false;
    }
  }

  // ------------------------------------------------------------------ filters
  function renderFilters() {
    el.filters.textContent = "";
    const columns = Object.keys(state.facets);
    if (!columns.length) {
      el.filters.innerHTML = '<p class="muted small">No filterable columns in this index.</p>';
      return;
    }
    for (const column of columns) {
      const facet = state.facets[column];
      const field = document.createElement("div");
      field.className = "field";
      const id = `filter-${cssId(column)}`;
      if (facet.kind === "numeric") {
        const label = document.createElement("span");
        label.className = "field-label";
        label.textContent = humanize(column);
        label.id = `${id}-label`;
        const row = document.createElement("div");
        row.className = "range-inputs";
        row.setAttribute("role", "group");
        row.setAttribute("aria-labelledby", label.id);
        for (const end of ["min", "max"]) {
          const input = document.createElement("input");
          input.type = "number";
          input.id = `${id}-${end}`;
          input.dataset.testid = `filter-${column}-${end}`;
          input.dataset.column = column;
          input.dataset.bound = end;
          input.step = "any";
          const bound = end === "min" ? facet.min : facet.max;
          if (bound !== null && bound !== undefined) {
            input.placeholder = formatNumber(bound);
            input.min = String(facet.min);
            input.max = String(facet.max);
          }
          input.setAttribute("aria-label", `${humanize(column)} ${end === "min" ? "minimum" : "maximum"}`);
          input.addEventListener("change", onFilterChange);
          row.appendChild(input);
          if (end === "min") {
            const dash = document.createElement("span");
            dash.className = "range-dash";
            dash.textContent = "–";
            dash.setAttribute("aria-hidden", "true");
            row.appendChild(dash);
          }
        }
        field.append(label, row);
      } else {
        const label = document.createElement("label");
        label.className = "field-label";
        label.htmlFor = id;
        label.textContent = humanize(column);
        const select = document.createElement("select");
        select.id = id;
        select.dataset.testid = `filter-${column}`;
        select.dataset.column = column;
        select.appendChild(new Option("Any", ""));
        const values = facet.values || [];
        const counts = facet.counts || [];
        values.forEach((value, i) => {
          const text = counts[i] !== undefined ? `${value} (${counts[i]})` : String(value);
          select.appendChild(new Option(text, String(value)));
        });
        if (facet.complete === false) {
          select.title = "Only the most frequent values are listed";
        }
        select.addEventListener("change", onFilterChange);
        field.append(label, select);
        if (facet.complete === false) {
          const hint = document.createElement("p");
          hint.className = "hint";
          hint.textContent = `Top ${values.length} values`;
          field.appendChild(hint);
        }
      }
      el.filters.appendChild(field);
    }
  }

  function currentFilters() {
    // {column: value} for selects, {column: {">=": x, "<=": y}} for ranges
    const filters = {};
    for (const select of el.filters.querySelectorAll("select[data-column]")) {
      if (select.value !== "") filters[select.dataset.column] = select.value;
    }
    for (const input of el.filters.querySelectorAll("input[data-column]")) {
      if (input.value.trim() === "" || !Number.isFinite(Number(input.value))) continue;
      const column = input.dataset.column;
      const op = input.dataset.bound === "min" ? ">=" : "<=";
      filters[column] = { ...(filters[column] || {}), [op]: Number(input.value) };
    }
    return filters;
  }

  function filterExpressions(filters) {
    const out = [];
    for (const [column, value] of Object.entries(filters)) {
      if (value && typeof value === "object") {
        for (const [op, bound] of Object.entries(value)) out.push(`${column}${op}${bound}`);
      } else {
        out.push(`${column}=${value}`);
      }
    }
    return out;
  }

  function onFilterChange() {
    const active = Object.keys(currentFilters()).length > 0;
    el.resetFilters.hidden = !active;
    for (const control of el.filters.querySelectorAll("[data-column]")) {
      control.classList.toggle("is-active", control.value !== "");
    }
    // a number input fires "change" on Enter and again on blur: one search per actual change
    if (state.query && JSON.stringify(currentFilters()) !== state.appliedFilters) runSearch(state.query);
  }

  function resetFilters() {
    for (const control of el.filters.querySelectorAll("[data-column]")) control.value = "";
    onFilterChange();
  }

  // ------------------------------------------------------------------ image choice
  function chooseImage(file) {
    if (!file) return;
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.image = file;
    state.previewUrl = URL.createObjectURL(file);
    el.dropPreview.classList.remove("is-broken");
    el.previewImg.src = state.previewUrl;
    el.previewName.textContent = file.name || "image";
    el.previewName.title = file.name || "";
    el.dropEmpty.hidden = true;
    el.dropPreview.hidden = false;
    el.dropZone.classList.add("has-image");
    updateComposedControls();
    submitSearch();
  }

  function removeImage() {
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.image = null;
    state.previewUrl = null;
    el.fileInput.value = "";
    el.previewImg.removeAttribute("src");
    el.dropPreview.hidden = true;
    el.dropEmpty.hidden = false;
    el.dropZone.classList.remove("has-image");
    updateComposedControls();
    if (state.query && state.query.kind === "search") {
      if (el.input.value.trim()) submitSearch();
      else resetResults();
    }
  }

  function updateComposedControls() {
    el.imageWeightField.hidden = !(state.image && el.input.value.trim());
  }

  // ------------------------------------------------------------------ searching
  function submitSearch() {
    const text = el.input.value.trim();
    if (!text && !state.image) {
      el.input.focus();
      showError("Type what you are looking for, or add a photo.");
      return;
    }
    state.previous = null;
    runSearch({ kind: "search", text, image: state.image });
  }

  function runSearch(query) {
    state.query = query;
    state.offset = 0;
    return fetchPage(false);
  }

  function searchRequest(query, offset) {
    const filters = currentFilters();
    state.appliedFilters = JSON.stringify(filters);
    const keywordWeight = Number(el.keywordWeight.value) || 0;
    if (query.kind === "similar") {
      const params = new URLSearchParams({ k: String(PAGE_SIZE), offset: String(offset) });
      for (const expression of filterExpressions(filters)) params.append("filter", expression);
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
      if (Object.keys(filters).length) form.append("filters", JSON.stringify(filters));
      form.append("k", String(PAGE_SIZE));
      form.append("offset", String(offset));
      return ["search/upload", { method: "POST", body: form }];
    }
    const body = { text: query.text, k: PAGE_SIZE, offset };
    if (Object.keys(filters).length) body.filters = filters;
    if (keywordWeight > 0) body.keyword_weight = keywordWeight;
    return ["search", { method: "POST", json: body }];
  }

  async function fetchPage(append) {
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
      renderCards(results);
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

  function describeQuery(query) {
    // e.g. ' for “red dress” + photo (image weight 0.50) · gender=Women'
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

  function resetResults() {
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
    setEmpty("Search the catalogue", "Describe a product in your own words, drop in a photo, or both — then narrow down with the filters.");
  }

  function setEmpty(title, text) {
    el.emptyTitle.textContent = title;
    el.emptyText.textContent = text;
    el.empty.hidden = el.grid.children.length > 0;
  }

  // ------------------------------------------------------------------ more like this
  function showSimilar(product) {
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

  function backFromSimilar() {
    const previous = state.previous;
    state.previous = null;
    if (previous) runSearch(previous);
    else resetResults();
  }

  // ------------------------------------------------------------------ cards
  function clearGrid() {
    if (state.observer) state.observer.disconnect();
    for (const url of state.blobUrls) URL.revokeObjectURL(url);
    state.blobUrls = [];
    el.grid.textContent = "";
  }

  function cardFields(metadata) {
    const keys = Object.keys(metadata || {}).filter((k) => metadata[k] !== null && metadata[k] !== "");
    const preferred = CARD_FIELDS.filter((k) => keys.includes(k));
    const chosen = preferred.length >= 2 ? preferred : keys.slice(0, 2);
    return chosen.map((k) => [k, metadata[k]]);
  }

  function renderCards(results) {
    const fragment = document.createDocumentFragment();
    for (const product of results) {
      const card = el.cardTemplate.content.firstElementChild.cloneNode(true);
      card.dataset.id = product.id;
      card.setAttribute("aria-label", product.text);
      const img = card.querySelector("img");
      img.alt = product.text;
      if (product.image_url) {
        loadImage(img, product.image_url, true);
      } else {
        card.querySelector(".card-media").classList.add("no-image");
      }
      const score = card.querySelector(".score");
      if (typeof product.score === "number") score.textContent = product.score.toFixed(3);
      else score.hidden = true;
      const title = card.querySelector(".card-title");
      title.textContent = product.text;
      title.title = product.text;
      const meta = card.querySelector(".card-meta");
      for (const [key, value] of cardFields(product.metadata)) {
        const chip = document.createElement("span");
        chip.className = "meta-chip";
        chip.dataset.field = key;
        chip.title = humanize(key);
        chip.textContent = String(value);
        meta.appendChild(chip);
      }
      card.querySelector('[data-testid="more-like-this"]').addEventListener("click", (event) => {
        event.stopPropagation();
        showSimilar(product);
      });
      const tagsButton = card.querySelector('[data-testid="tags-button"]');
      tagsButton.setAttribute("aria-label", `Tags and details for ${product.text}`);
      card.querySelector('[data-testid="more-like-this"]').setAttribute("aria-label", `More like ${product.text}`);
      tagsButton.addEventListener("click", (event) => {
        event.stopPropagation();
        openPanel(product, tagsButton);
      });
      card.addEventListener("click", () => openPanel(product, card));
      card.addEventListener("keydown", (event) => {
        if ((event.key === "Enter" || event.key === " ") && event.target === card) {
          event.preventDefault();
          openPanel(product, card);
        }
      });
      fragment.appendChild(card);
    }
    el.grid.appendChild(fragment);
    el.empty.hidden = el.grid.children.length > 0;
  }

  // Product images: plain <img src> without a key; with a key, fetch() (it can send the header)
  // and a blob: URL, fetched when the card comes near the viewport.
  function loadImage(img, url, lazy = false) {
    const external = /^https?:\/\//i.test(url) && !url.startsWith(location.origin);
    if (!state.apiKey || external) {
      if (lazy) img.loading = "lazy";
      img.src = url;
      return;
    }
    img.dataset.src = url;
    if (lazy && "IntersectionObserver" in window) {
      if (!state.observer) {
        state.observer = new IntersectionObserver(
          (entries) => {
            for (const entry of entries) {
              if (!entry.isIntersecting) continue;
              state.observer.unobserve(entry.target);
              fetchImage(entry.target);
            }
          },
          { rootMargin: "400px" },
        );
      }
      state.observer.observe(img);
    } else {
      fetchImage(img);
    }
  }

  async function fetchImage(img) {
    const url = img.dataset.src;
    try {
      const response = await fetch(url, { headers: keyHeaders() });
      if (!response.ok) throw new Error(String(response.status));
      const blob = await response.blob();
      if (img.dataset.src !== url) return;
      const objectUrl = URL.createObjectURL(blob);
      state.blobUrls.push(objectUrl);
      img.src = objectUrl;
    } catch (_) {
      img.closest(".card-media, .panel-image")?.classList.add("no-image");
    }
  }

  // ------------------------------------------------------------------ details panel
  async function openPanel(product, opener) {
    state.panelFor = product.id;
    state.lastFocus = opener || document.activeElement;
    el.panelTitle.textContent = product.text;
    el.panelId.textContent = product.id;
    el.panelImg.alt = product.text;
    el.panelImg.removeAttribute("src");
    el.panelImg.parentElement.classList.remove("no-image");
    if (product.image_url) loadImage(el.panelImg, product.image_url);
    else el.panelImg.parentElement.classList.add("no-image");
    renderMeta(product.metadata || {});
    el.panelTags.textContent = "";
    el.panelTags.dataset.state = "loading";
    el.panelTags.innerHTML = '<p class="muted small"><span class="spinner inline"></span> Tagging…</p>';
    el.panelSimilar.onclick = () => showSimilar(product);
    el.overlay.hidden = false;
    el.panel.hidden = false;
    document.body.classList.add("panel-open");
    requestAnimationFrame(() => el.panel.classList.add("is-open"));
    el.panelClose.focus();
    try {
      const detail = await api(`products/${encodeURIComponent(product.id)}?tags=true`);
      if (state.panelFor !== product.id) return;
      renderMeta(detail.metadata || {});
      renderTags(detail.tags || {});
    } catch (err) {
      if (state.panelFor !== product.id) return;
      el.panelTags.dataset.state = "error";
      el.panelTags.textContent = "";
      const p = document.createElement("p");
      p.className = "panel-error";
      p.setAttribute("role", "alert");
      p.textContent = `Could not load tags: ${err.message}`;
      el.panelTags.appendChild(p);
    }
  }

  function renderMeta(metadata) {
    el.panelMeta.textContent = "";
    for (const [key, value] of Object.entries(metadata)) {
      const dt = document.createElement("dt");
      dt.textContent = humanize(key);
      const dd = document.createElement("dd");
      dd.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
      dd.dataset.field = key;
      el.panelMeta.append(dt, dd);
    }
  }

  function renderTags(tags) {
    el.panelTags.textContent = "";
    const attributes = Object.keys(tags);
    if (!attributes.length) {
      el.panelTags.innerHTML = '<p class="muted small">No tags.</p>';
    }
    for (const attribute of attributes) {
      const group = document.createElement("div");
      group.className = "tag-group";
      group.dataset.attribute = attribute;
      const heading = document.createElement("h4");
      heading.textContent = humanize(attribute);
      const list = document.createElement("ul");
      list.className = "tag-list";
      for (const tag of tags[attribute]) {
        const item = document.createElement("li");
        item.className = "tag-chip";
        item.dataset.testid = "tag-chip";
        item.dataset.label = tag.label;
        const pct = Math.max(0, Math.min(1, Number(tag.score) || 0));
        item.style.setProperty("--score", String(pct));
        const label = document.createElement("span");
        label.className = "tag-label";
        label.textContent = tag.label;
        const value = document.createElement("span");
        value.className = "tag-score";
        value.textContent = pct.toFixed(2);
        const bar = document.createElement("span");
        bar.className = "tag-bar";
        bar.setAttribute("aria-hidden", "true");
        item.setAttribute("aria-label", `${tag.label}: ${pct.toFixed(2)}`);
        item.append(label, value, bar);
        list.appendChild(item);
      }
      group.append(heading, list);
      el.panelTags.appendChild(group);
    }
    el.panelTags.dataset.state = "done";
  }

  function closePanel() {
    if (el.panel.hidden) return;
    state.panelFor = null;
    el.panel.classList.remove("is-open");
    el.panel.hidden = true;
    el.overlay.hidden = true;
    document.body.classList.remove("panel-open");
    if (state.lastFocus && document.contains(state.lastFocus)) state.lastFocus.focus();
  }

  // ------------------------------------------------------------------ events
  function wireEvents() {
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitSearch();
    });
    el.input.addEventListener("input", updateComposedControls);

    el.previewImg.addEventListener("error", () => el.dropPreview.classList.add("is-broken"));
    el.fileInput.addEventListener("change", () => {
      if (el.fileInput.files && el.fileInput.files[0]) chooseImage(el.fileInput.files[0]);
    });
    el.removeImage.addEventListener("click", removeImage);
    el.dropEmpty.addEventListener("click", (event) => {
      if (event.target.closest("label")) return; // the label opens the picker itself
      el.fileInput.click();
    });
    let depth = 0;
    el.dropZone.addEventListener("dragenter", (event) => {
      event.preventDefault();
      depth++;
      el.dropZone.classList.add("is-dragging");
    });
    el.dropZone.addEventListener("dragover", (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    });
    el.dropZone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) el.dropZone.classList.remove("is-dragging");
    });
    el.dropZone.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      el.dropZone.classList.remove("is-dragging");
      const files = event.dataTransfer ? Array.from(event.dataTransfer.files || []) : [];
      const file = files.find((f) => !f.type || f.type.startsWith("image/")) || files[0];
      if (file) chooseImage(file);
      else showError("Drop an image file (JPEG, PNG, WebP…).");
    });
    // a photo dropped anywhere else would make the browser navigate away from the page
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());

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
      if (await loadFacets()) {
        el.keyForm.classList.remove("needs-key");
        if (state.query) runSearch(state.query);
        else resetResults();
      }
    });
  }

  function removeImageQuietly() {
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.image = null;
    state.previewUrl = null;
    el.fileInput.value = "";
    el.dropPreview.hidden = true;
    el.dropEmpty.hidden = false;
    el.dropZone.classList.remove("has-image");
    updateComposedControls();
  }

  function trapFocus(event) {
    const focusable = el.panel.querySelectorAll("button, [href], input, select, [tabindex]:not([tabindex='-1'])");
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function renderExamples() {
    for (const example of EXAMPLES) {
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

  // ------------------------------------------------------------------ helpers
  function humanize(name) {
    const spaced = String(name)
      .replace(/[_-]+/g, " ")
      .replace(/([a-z])([A-Z])/g, "$1 $2")
      .toLowerCase()
      .trim();
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  function cssId(name) {
    return String(name).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function formatNumber(value) {
    const n = Number(value);
    if (!Number.isFinite(n)) return "";
    return Number.isInteger(n) ? String(n) : n.toFixed(2);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
