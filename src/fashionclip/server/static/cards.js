// Result cards and product images. A card's chips are the server's card fields (from the
// index's own columns, GET /page-config) and the columns the results are filtered on.

import { keyHeaders } from "./api.js";
import { el, humanize } from "./dom.js";
import { appliedColumns } from "./filters.js";
import { msg, setAttr } from "./i18n.js";
import { state } from "./state.js";

export function clearGrid() {
  if (state.observer) state.observer.disconnect();
  for (const url of state.blobUrls) URL.revokeObjectURL(url);
  state.blobUrls = [];
  el.grid.textContent = "";
}

export function cardFields(metadata) {
  const keys = Object.keys(metadata || {}).filter((k) => metadata[k] !== null && metadata[k] !== "");
  const wanted = [...new Set([...(state.page.card_fields || []), ...appliedColumns()])];
  const preferred = wanted.filter((k) => keys.includes(k));
  const chosen = preferred.length ? preferred : keys.slice(0, 2);
  return chosen.map((k) => [k, metadata[k]]);
}

// `on.similar(product)`: "more like this"; `on.open(product, opener)`: the details panel
export function renderCards(results, on) {
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
    const similar = card.querySelector('[data-testid="more-like-this"]');
    similar.addEventListener("click", (event) => {
      event.stopPropagation();
      on.similar(product);
    });
    const tagsButton = card.querySelector('[data-testid="tags-button"]');
    setAttr(tagsButton, "aria-label", msg("card.tagsLabel", { title: product.text }));
    setAttr(similar, "aria-label", msg("card.moreLikeLabel", { title: product.text }));
    tagsButton.addEventListener("click", (event) => {
      event.stopPropagation();
      on.open(product, tagsButton);
    });
    card.addEventListener("click", () => on.open(product, card));
    card.addEventListener("keydown", (event) => {
      if ((event.key === "Enter" || event.key === " ") && event.target === card) {
        event.preventDefault();
        on.open(product, card);
      }
    });
    fragment.appendChild(card);
  }
  el.grid.appendChild(fragment);
  el.empty.hidden = el.grid.children.length > 0;
}

// Product images: plain <img src> without a key; with a key, fetch() (it can send the header)
// and a blob: URL, fetched when the card comes near the viewport.
export function loadImage(img, url, lazy = false) {
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
