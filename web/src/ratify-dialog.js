/**
 * The chair's ratification form, in a modal <dialog id="ratify-dialog">: the deciding body
 * (#ratify-body), the date (#ratify-date), the vote (#ratify-for, #ratify-against,
 * #ratify-abstentions) and notes (#ratify-notes); #ratify-submit records it
 * (POST /api/documents/{id}/ratify), #ratify-cancel closes. Errors show inside the dialog.
 */
import { errorText } from './error-box.js'
import { h } from './dom.js'
import { field, input } from './fields.js'
import { translated } from './i18n.js'
import { ratify } from './versions-api.js'

/** @returns {string} today, YYYY-MM-DD in the browser's time zone */
export function today () {
  const now = new Date()
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

/** @param {string} id */
function count (id) {
  return input(id, 'number', { min: '0', step: '1', value: '0', required: '', inputmode: 'numeric' })
}

/**
 * @param {string} id the document
 * @param {(ratified: import('./versions-api.js').Ratified) => void} done
 * @returns {{ element: HTMLDialogElement, open: () => void }}
 */
export function ratifyDialog (id, done) {
  const body = input('ratify-body', 'text', { required: '', autocomplete: 'off', maxlength: '300' })
  const date = input('ratify-date', 'date', { required: '' })
  const votesFor = count('ratify-for')
  const against = count('ratify-against')
  const abstentions = count('ratify-abstentions')
  const notes = h('textarea', { id: 'ratify-notes', attrs: { name: 'ratify-notes', rows: '3', maxlength: '5000' } })
  const problem = h('p', { id: 'ratify-error', className: 'error', attrs: { role: 'alert' } })
  problem.hidden = true
  const submit = translated(h('button', { id: 'ratify-submit', className: 'danger', attrs: { type: 'submit' } }), 'ratify.submit')
  const cancel = translated(h('button', { id: 'ratify-cancel', className: 'secondary', attrs: { type: 'button' } }), 'ratify.cancel')
  const form = h('form', { id: 'ratify-form', className: 'stack' }, [
    translated(h('h2', { id: 'ratify-heading' }), 'ratify.heading'),
    translated(h('p', { className: 'hint' }), 'ratify.explain'),
    field('ratify.body', body),
    field('ratify.date', date),
    h('fieldset', { className: 'votes' }, [
      translated(h('legend', {}), 'ratify.vote'),
      field('ratify.for', votesFor),
      field('ratify.against', against),
      field('ratify.abstentions', abstentions)
    ]),
    h('div', { className: 'field' }, [translated(h('label', { attrs: { for: 'ratify-notes' } }), 'ratify.notes'), notes]),
    problem,
    h('div', { className: 'actions' }, [submit, cancel])
  ])
  const element = h('dialog', { id: 'ratify-dialog', className: 'dialog', attrs: { 'aria-labelledby': 'ratify-heading' } }, [form])

  cancel.addEventListener('click', () => element.close())
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    problem.hidden = true
    submit.disabled = true
    translated(submit, 'ratify.busy')
    try {
      const ratified = await ratify(id, {
        body: body.value.trim(),
        date: date.value,
        votes_for: Number(votesFor.value),
        votes_against: Number(against.value),
        abstentions: Number(abstentions.value),
        notes: notes.value.trim()
      })
      element.close()
      done(ratified)
    } catch (err) {
      problem.textContent = errorText(err, 'error.ratify')
      problem.hidden = false
    } finally {
      submit.disabled = false
      translated(submit, 'ratify.submit')
    }
  })
  return {
    element,
    open: () => {
      if (!date.value) date.value = today()
      problem.hidden = true
      element.showModal()
      body.focus()
    }
  }
}
