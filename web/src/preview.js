/**
 * The live preview (#preview): the Markdown rendered by render.js, at most every 100 ms; each
 * block carries data-line, shown as a line gutter (app.css).
 * markdown-it runs with raw HTML off, so innerHTML gets only markup it generated itself.
 */
import { renderMarkdown } from './render.js'

const DELAY_MS = 100

/**
 * @param {HTMLElement} container
 * @param {import('yjs').Text} ytext
 * @param {(container: HTMLElement) => void} [afterRender] e.g. the review marks
 * @returns {{ refresh: () => void }} render again soon (e.g. the marks changed)
 */
export function livePreview (container, ytext, afterRender) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null
  const render = () => {
    timer = null
    container.innerHTML = renderMarkdown(ytext.toString())
    for (const link of container.querySelectorAll('a[href]')) {
      link.setAttribute('target', '_blank')
      link.setAttribute('rel', 'noopener noreferrer')
    }
    if (afterRender) afterRender(container)
  }
  const refresh = () => {
    if (timer === null) timer = setTimeout(render, DELAY_MS)
  }
  ytext.observe(refresh)
  render()
  return { refresh }
}
