/**
 * @mention autocomplete for a comment box: typing "@" and the start of a member's name
 * offers the document's members (GET /api/documents/{id}/members) in a list
 * (.mention-list, li[role=option]); arrows move, Enter or Tab picks, Escape closes. The
 * server finds mentions in the text itself ("@Name", case-insensitive, longest match).
 */
import { h } from './dom.js'

const MAX_OPTIONS = 6
// an "@" at the start or after a space, then up to 40 characters without a newline or "@"
const QUERY = /(?:^|\s)@([^\n@]{0,40})$/u

/**
 * @param {HTMLTextAreaElement} textarea
 * @param {() => Promise<string[]>} names the members' display names
 * @returns {HTMLElement} the textarea, wrapped with its list
 */
export function withMentions (textarea, names) {
  const list = h('ul', { className: 'mention-list', attrs: { role: 'listbox' } })
  list.hidden = true
  /** @type {string[]} */
  let options = []
  let active = 0
  let start = -1 // where the "@" is

  const close = () => {
    list.hidden = true
    options = []
  }
  /** @param {string} name */
  const pick = (name) => {
    const caret = textarea.selectionStart
    const before = textarea.value.slice(0, start) + '@' + name + ' '
    textarea.value = before + textarea.value.slice(caret)
    textarea.setSelectionRange(before.length, before.length)
    close()
    textarea.focus()
  }
  const show = () => {
    list.replaceChildren(...options.map((name, i) => {
      const item = h('li', { attrs: { role: 'option', 'aria-selected': String(i === active) } }, [name])
      item.addEventListener('mousedown', (event) => {
        event.preventDefault() // keep the focus in the textarea
        pick(name)
      })
      return item
    }))
    list.hidden = options.length === 0
  }
  const update = async () => {
    const match = QUERY.exec(textarea.value.slice(0, textarea.selectionStart))
    if (!match) return close()
    const query = match[1].toLocaleLowerCase()
    start = textarea.selectionStart - match[1].length - 1
    const all = await names().catch(() => [])
    const starts = all.filter((n) => n.toLocaleLowerCase().startsWith(query))
    const contains = all.filter((n) => !starts.includes(n) && n.toLocaleLowerCase().includes(query))
    options = [...starts, ...contains].slice(0, MAX_OPTIONS)
    active = 0
    show()
  }

  textarea.addEventListener('input', () => { update() })
  textarea.addEventListener('blur', close)
  textarea.addEventListener('keydown', (event) => {
    if (list.hidden || options.length === 0) return
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      active = (active + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length
      show()
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      pick(options[active])
    } else if (event.key === 'Escape') {
      close()
    } else {
      return
    }
    event.preventDefault()
    event.stopPropagation()
  })
  return h('div', { className: 'mention-box' }, [textarea, list])
}
