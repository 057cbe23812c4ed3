/**
 * The saved badge (#saved, data-saved="true|false"): saved / saving… / unsaved changes.
 */
import { h } from './dom.js'
import { onLangChange, t } from './i18n.js'

/**
 * @param {import('./saved.js').SavedTracker} tracker
 * @param {import('y-websocket').WebsocketProvider} provider
 * @returns {HTMLElement}
 */
export function savedBadge (tracker, provider) {
  const badge = h('span', { id: 'saved', className: 'badge', attrs: { role: 'status' } })
  const render = () => {
    const saved = tracker.saved()
    badge.dataset.saved = String(saved)
    let key = 'saved.true'
    if (!saved) key = provider.wsconnected ? 'saved.saving' : 'saved.unsaved'
    badge.textContent = t(key)
  }
  tracker.onChange(render)
  provider.on('status', render)
  onLangChange(render)
  render()
  return badge
}
