/**
 * A tiny element builder, so that no module writes HTML strings (only the preview sets
 * innerHTML, from markdown-it with raw HTML off).
 */

/**
 * @typedef {object} Props
 * @property {string} [id]
 * @property {string} [className]
 * @property {Record<string, string>} [attrs]
 * @property {Record<string, string>} [data]
 * @property {Record<string, EventListener>} [on]
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {Array<Node | string | null | undefined | false>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h (tag, props = {}, children = []) {
  const el = document.createElement(tag)
  if (props.id) el.id = props.id
  if (props.className) el.className = props.className
  for (const [name, value] of Object.entries(props.attrs || {})) el.setAttribute(name, value)
  for (const [name, value] of Object.entries(props.data || {})) el.dataset[name] = value
  for (const [type, listener] of Object.entries(props.on || {})) el.addEventListener(type, listener)
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.append(child)
  }
  return el
}
