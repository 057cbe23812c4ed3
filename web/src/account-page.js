/**
 * The account page: name, email and organization (#account-details); the language of the
 * account (#account-language, which also switches the page); a new password (#password-form:
 * #current-password, #new-password, #new-password2). Signing out is the top bar's #logout.
 */
import { changePassword, updateMe } from './api.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { busy, field, input } from './fields.js'
import { translated } from './i18n.js'
import { langSelect } from './lang-switch.js'
import { newPassword } from './password-fields.js'
import { topbar } from './topbar.js'

/**
 * @param {string} labelKey
 * @param {string} id
 */
function detail (labelKey, id) {
  const value = h('dd', { id })
  return { value, nodes: [translated(h('dt', {}), labelKey), value] }
}

/** @param {import('./api.js').Organization | null} org */
function organizationText (org) {
  if (!org) return null
  const extra = [org.short_name, org.country].filter(Boolean).join(', ')
  return extra ? `${org.name} (${extra})` : org.name
}

/** @param {Promise<import('./api.js').Me>} me */
function details (me) {
  const name = detail('account.name', 'account-name')
  const email = detail('account.email', 'account-email')
  const org = detail('account.organization', 'account-organization')
  me.then((user) => {
    name.value.textContent = user.name
    email.value.textContent = user.email
    const text = organizationText(user.organization)
    if (text) org.value.textContent = text
    else translated(org.value, 'account.no_organization')
  }, () => {})
  return h('section', { id: 'account-details', className: 'card' }, [
    h('dl', { className: 'details' }, [...name.nodes, ...email.nodes, ...org.nodes])
  ])
}

/** @param {import('./error-box.js').ErrorBox} error */
function languageCard (error) {
  const select = langSelect('account-language', (lang) => {
    error.clear()
    updateMe({ language: lang }).catch((err) => error.fail(err, 'error.save_language'))
  })
  return h('section', { className: 'card' }, [
    translated(h('h2', {}), 'account.language'),
    field('account.language_label', select, 'account.language_help')
  ])
}

/** @param {import('./error-box.js').ErrorBox} error */
function passwordForm (error) {
  const current = input('current-password', 'password', { required: '', autocomplete: 'current-password' })
  const next = newPassword('new-password', 'account.new_password')
  const submit = translated(h('button', { id: 'password-submit', attrs: { type: 'submit' } }), 'account.password_submit')
  const done = translated(h('p', { id: 'password-done', className: 'done', attrs: { role: 'status' } }), 'account.password_done')
  done.hidden = true
  const form = h('form', { id: 'password-form', className: 'card stack' }, [
    translated(h('h2', {}), 'account.password'),
    field('account.current_password', current),
    ...next.fields,
    h('div', { className: 'actions' }, [submit]),
    done
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    done.hidden = true
    const problem = next.problem()
    if (problem) return error.say(problem)
    error.clear()
    busy(submit, 'account.password_busy', async () => {
      try {
        await changePassword(current.value, next.value())
        current.value = ''
        next.reset()
        done.hidden = false
      } catch (err) {
        error.fail(err, 'error.password')
      }
    })
  })
  return form
}

/**
 * @param {HTMLElement} app
 * @param {Promise<import('./api.js').Me>} me
 */
export function accountPage (app, me) {
  const error = errorBox()
  app.replaceChildren(
    topbar({ me, error }),
    h('div', { className: 'page narrow' }, [
      translated(h('h1', {}), 'page.account'),
      error.element,
      details(me),
      languageCard(error),
      passwordForm(error)
    ])
  )
  me.catch((err) => error.fail(err, 'error.load_account'))
}
