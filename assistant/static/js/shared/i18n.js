// UI wording comes from /i18n/<lang>.json; elements name their text with data-i18n attributes.
const LANG_KEY = "careline.lang";  // a preference, not private: kept across sign-outs
let lang = localStorage.getItem(LANG_KEY) || "en";
let words = {};

export const currentLang = () => lang;

export function t(key, vars = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
}

export async function setLang(next) {
  const response = await fetch(`/i18n/${next}.json`);
  words = await response.json();
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  applyI18n();
  dispatchEvent(new CustomEvent("langchange", { detail: next }));
}

export const initI18n = () => setLang(lang === "zh" ? "zh" : "en");

/** The translation of `key`, or `fallback` when the wording files have none (e.g. a new record field). */
export const tOr = (key, fallback) => (key in words ? t(key) : fallback);
