/**
 * Recording an organization's decision on a ratified text (#adoption-form): the organization
 * (#adoption-org, only those this person may record for), the decision (#adoption-decision),
 * the reservations (#adoption-reservations, shown and required for "adopted with
 * reservations"), the deciding body (#adoption-body), the date (#adoption-date) and notes
 * (#adoption-notes); #adoption-submit records it (POST /api/ratified/{id}/adoptions). An
 * earlier record is kept by the server as history.
 */
import { h } from './dom.js'
import { field, input } from './fields.js'
import { t, translated } from './i18n.js'
import { today } from './ratify-dialog.js'
import { DECISIONS, recordAdoption } from './versions-api.js'

/** @typedef {import('./versions-api.js').Decision} Decision */

/** @type {Record<Decision, string>} */
export const DECISION_KEYS = {
  adopted: 'adoption.decision.adopted',
  adopted_with_reservations: 'adoption.decision.adopted_with_reservations',
  rejected: 'adoption.decision.rejected',
  pending: 'adoption.decision.pending'
}

/**
 * A decision as a badge (.decision[data-decision]).
 * @param {string} decision
 */
export function decisionBadge (decision) {
  const known = /** @type {Decision} */ (DECISIONS.includes(/** @type {Decision} */ (decision)) ? decision : 'pending')
  return translated(h('span', { className: 'decision', data: { decision: known } }), DECISION_KEYS[known])
}

/**
 * @param {string} id the ratified document
 * @param {import('./error-box.js').ErrorBox} error
 * @param {() => Promise<void>} recorded called after a decision is recorded
 * @returns {{ element: HTMLFormElement, show: (organizations: import('./versions-api.js').Organization[], first?: string) => void }} `first`: offered unless another was picked
 */
export function adoptionForm (id, error, recorded) {
  const org = h('select', { id: 'adoption-org', attrs: { name: 'adoption-org', required: '' } })
  const decision = h('select', { id: 'adoption-decision', attrs: { name: 'adoption-decision' } },
    DECISIONS.map((d) => translated(h('option', { attrs: { value: d } }), DECISION_KEYS[d])))
  decision.value = 'adopted'
  const reservations = h('textarea', { id: 'adoption-reservations', attrs: { name: 'adoption-reservations', rows: '3', maxlength: '5000' } })
  const reservationsField = h('div', { className: 'field' }, [
    translated(h('label', { attrs: { for: 'adoption-reservations' } }), 'adoption.reservations'), reservations
  ])
  const body = input('adoption-body', 'text', { autocomplete: 'off', maxlength: '300' })
  const date = input('adoption-date', 'date')
  const notes = h('textarea', { id: 'adoption-notes', attrs: { name: 'adoption-notes', rows: '2', maxlength: '5000' } })
  const submit = translated(h('button', { id: 'adoption-submit', attrs: { type: 'submit' } }), 'adoption.submit')
  const element = h('form', { id: 'adoption-form', className: 'card stack adoption-form' }, [
    translated(h('h2', {}), 'adoption.form_heading'),
    h('div', { className: 'row' }, [field('adoption.organization', org), field('adoption.decision', decision)]),
    reservationsField,
    h('div', { className: 'row' }, [field('adoption.body', body, 'adoption.body_hint'), field('adoption.date', date)]),
    h('div', { className: 'field' }, [translated(h('label', { attrs: { for: 'adoption-notes' } }), 'adoption.notes'), notes]),
    h('div', { className: 'actions' }, [submit])
  ])
  const sync = () => {
    const needed = decision.value === 'adopted_with_reservations'
    reservationsField.hidden = !needed
    reservations.required = needed
  }
  decision.addEventListener('change', sync)
  sync()

  element.addEventListener('submit', async (event) => {
    event.preventDefault()
    submit.disabled = true
    error.clear()
    try {
      await recordAdoption(id, {
        organization: org.value,
        decision: /** @type {Decision} */ (decision.value),
        reservations: decision.value === 'adopted_with_reservations' ? reservations.value.trim() : '',
        body: body.value.trim(),
        date: date.value,
        notes: notes.value.trim()
      })
      reservations.value = ''
      notes.value = ''
      body.value = ''
      await recorded()
    } catch (err) {
      error.fail(err, 'error.adoption')
    } finally {
      submit.disabled = false
    }
  })
  return {
    element,
    show (organizations, first) {
      const keep = org.value || first
      org.replaceChildren(...organizations.map((o) => h('option', { attrs: { value: o.short_name } }, [
        t('adoption.org_option', { short: o.short_name, name: o.name })
      ])))
      if (keep && organizations.some((o) => o.short_name === keep)) org.value = keep
      if (!date.value) date.value = today()
      element.hidden = organizations.length === 0
    }
  }
}
