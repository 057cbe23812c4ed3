/**
 * Where the history panel shows one thing at a time (#version-view, data-showing = version |
 * diff): a version rendered read-only with its fingerprint and exports, or the differences
 * between two versions (diff-view.js). #version-close empties it.
 */
import { diffStats, diffView } from './diff-view.js'
import { h } from './dom.js'
import { t, translated } from './i18n.js'
import { renderMarkdown } from './render.js'
import * as api from './versions-api.js'

/**
 * @param {string} id the document
 * @param {import('./error-box.js').ErrorBox} error
 * @param {(version: api.Version) => string} title "Version 3: name"
 * @param {(number: number) => HTMLElement} exports the download links of a version
 */
export function versionView (id, error, title, exports) {
  const element = h('section', { id: 'version-view', className: 'version-shown', attrs: { 'aria-live': 'polite' } })
  element.hidden = true

  /**
   * @param {string} key the heading
   * @param {import('./i18n.js').Params} params
   * @param {Node[]} body
   * @param {string} showing
   */
  const show = (key, params, body, showing) => {
    const close = translated(h('button', { id: 'version-close', className: 'link-button', attrs: { type: 'button' } }), 'history.close')
    close.addEventListener('click', () => { element.hidden = true; element.replaceChildren() })
    element.replaceChildren(h('div', { className: 'version-shown-head' }, [h('h3', {}, [t(key, params)]), close]), ...body)
    element.dataset.showing = showing
    element.hidden = false
    element.scrollIntoView({ block: 'nearest' })
  }

  return {
    element,
    /** @param {api.Version} version */
    async version (version) {
      error.clear()
      try {
        const full = await api.getVersion(id, version.number)
        const article = h('article', { className: 'markdown-body preview version-text' })
        article.innerHTML = renderMarkdown(full.markdown || '') // markdown-it, raw HTML off (render.js)
        show('history.viewing', { title: title(full) }, [
          h('p', { className: 'hint' }, [t('history.fingerprint', { sha256: full.sha256 })]),
          exports(version.number),
          article
        ], 'version')
      } catch (err) {
        error.fail(err, 'error.history')
      }
    },
    /**
     * @param {number | 'current'} from
     * @param {number | 'current'} to
     */
    async diff (from, to) {
      error.clear()
      /** @param {number | 'current'} n */
      const name = (n) => (n === 'current' ? t('history.current') : t('history.version', { number: n }))
      try {
        const diff = await api.getDiff(id, from, to)
        show('history.comparing', { from: name(from), to: name(to) }, [diffStats(diff), diffView(diff)], 'diff')
      } catch (err) {
        error.fail(err, 'error.history')
      }
    }
  }
}
