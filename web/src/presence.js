/**
 * Who is here (#who): one li[data-client-id] per awareness state that carries a user, this
 * browser first, with the user's colour as a dot.
 */
import { h } from './dom.js'
import { onLangChange, t } from './i18n.js'

const COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i

/**
 * @param {import('y-websocket').WebsocketProvider['awareness']} awareness
 * @returns {HTMLUListElement}
 */
export function whoIsHere (awareness) {
  const list = h('ul', { id: 'who', className: 'who' })
  const render = () => {
    const own = awareness.clientID
    /** @type {Array<{ id: number, name: string, color: string }>} */
    const people = []
    awareness.getStates().forEach((state, id) => {
      const user = state && state.user
      if (!user || typeof user.name !== 'string' || !user.name) return
      people.push({ id, name: user.name, color: COLOR.test(user.color) ? user.color : '#6c737a' })
    })
    people.sort((a, b) => (a.id === own ? -1 : b.id === own ? 1 : a.name.localeCompare(b.name)))
    list.replaceChildren(...people.map(({ id, name, color }) => {
      const dot = h('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } })
      dot.style.backgroundColor = color // CSSOM, which the CSP allows (a style attribute it would not)
      const item = h('li', { data: { clientId: String(id) } }, [dot, h('span', { className: 'name' }, [name])])
      if (id === own) {
        item.dataset.self = 'true'
        item.append(' ', h('span', { className: 'self' }, [t('who.self')]))
      }
      return item
    }))
  }
  awareness.on('change', render)
  onLangChange(render)
  render()
  return list
}
