/**
 * The live preview (#preview): the Markdown rendered by render.js, at most every 100 ms.
 * markdown-it runs with raw HTML off, so innerHTML gets only markup it generated itself.
 */
import { renderMarkdown } from './render.js'

const DELAY_MS = 100

/**
 * @param {HTMLElement} container
 * @param {import('yjs').Text} ytext
 */
export function livePreview (container, ytext) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null
  const render = () => {
    timer = null
    container.innerHTML = renderMarkdown(ytext.toString())
    for (const link of container.querySelectorAll('a[href]')) {
      link.setAttribute('target', '_blank')
      link.setAttribute('rel', 'noopener noreferrer')
    }
  }
  ytext.observe(() => {
    if (timer === null) timer = setTimeout(render, DELAY_MS)
  })
  render()
}
