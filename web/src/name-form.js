/**
 * The display-name form (#name-form, #name-input, #name-submit), shown on the first visit and
 * on "change name"; the name is kept in localStorage and published in awareness.
 */
import { h } from './dom.js'
import { translated, translatedAttr } from './i18n.js'
import { MAX_NAME_LENGTH, cleanName, storeName, storedName, userFor } from './identity.js'

/**
 * @param {import('y-websocket').WebsocketProvider['awareness']} awareness
 * @returns {{ form: HTMLFormElement, changeButton: HTMLButtonElement }}
 */
export function nameForm (awareness) {
  const input = h('input', {
    id: 'name-input',
    attrs: { type: 'text', name: 'name', required: '', maxlength: String(MAX_NAME_LENGTH), autocomplete: 'nickname' }
  })
  translatedAttr(input, 'placeholder', 'name.label')
  const submit = translated(h('button', { id: 'name-submit', attrs: { type: 'submit' } }), 'name.submit')
  const form = h('form', { id: 'name-form', className: 'card name-form' }, [
    translated(h('h2', {}), 'name.heading'),
    translated(h('p', { className: 'help' }), 'name.help'),
    h('div', { className: 'row' }, [
      translated(h('label', { className: 'visually-hidden', attrs: { for: 'name-input' } }), 'name.label'),
      input,
      submit
    ])
  ])
  const changeButton = translated(h('button', { id: 'name-change', className: 'link-button', attrs: { type: 'button' } }), 'name.change')

  /** @param {string} name */
  const publish = (name) => awareness.setLocalStateField('user', userFor(name))
  /** @param {boolean} asking */
  const ask = (asking) => {
    form.hidden = !asking
    changeButton.hidden = asking
    if (asking) input.focus()
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const name = cleanName(input.value)
    if (!name) return
    storeName(name)
    publish(name)
    ask(false)
  })
  changeButton.addEventListener('click', () => {
    input.value = storedName() || ''
    ask(true)
  })

  const known = storedName()
  if (known) publish(known)
  form.hidden = known !== null
  changeButton.hidden = known === null
  return { form, changeButton }
}
