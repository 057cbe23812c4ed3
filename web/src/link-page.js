/**
 * A one-time link (/link/{token}; the token is in <body data-token>). GET /api/links/{token}
 * says what the link is for, and #link-form asks for what that needs:
 * - setup, the first admin: #link-name, #link-email, #link-password, #link-password2;
 * - invite, an account an admin made: #link-name (prefilled), the email read-only, a password;
 * - password, a reset: a new password;
 * - document, an invitation to a document with a role: signed in, one button (#link-submit);
 *   otherwise #link-login (sign in, then come back here) or a new account.
 * POST /api/links/{token} answers {"redirect": path}, where the browser then goes.
 */
import { ApiError, getLink, useLink } from './api.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { busy, field, input } from './fields.js'
import { currentLang, t, translated } from './i18n.js'
import { setPageTitle } from './page-title.js'
import { newPassword } from './password-fields.js'
import { roleKey } from './roles.js'
import { loginUrl, safeNext } from './session.js'
import { topbar } from './topbar.js'

/** @typedef {import('./api.js').LinkInfo} LinkInfo */
/** @typedef {{ name?: string, email?: string, password?: string, language?: string }} LinkFields */

/** @type {Record<LinkInfo['kind'], { heading: string, intro: string, submit: string }>} */
const KINDS = {
  setup: { heading: 'link.setup.heading', intro: 'link.setup.intro', submit: 'link.setup.submit' },
  invite: { heading: 'link.invite.heading', intro: 'link.invite.intro', submit: 'link.invite.submit' },
  password: { heading: 'link.password.heading', intro: 'link.password.intro', submit: 'link.password.submit' },
  document: { heading: 'link.document.heading', intro: 'link.document.intro', submit: 'link.document.submit' }
}

/** @type {Record<string, string>} the button that joins a document, by role */
const JOIN = {
  chair: 'link.join.chair',
  delegate: 'link.join.delegate',
  reviewer: 'link.join.reviewer',
  observer: 'link.join.observer'
}

/** @param {unknown} error */
const invalid = (error) => error instanceof ApiError && (error.status === 404 || error.status === 410)

/**
 * The inputs of the form, and how to read them.
 * @param {LinkInfo} info
 * @returns {{ fields: HTMLElement[], read: () => LinkFields | string }} read gives the
 *   fields to send, or the catalog key of what is wrong
 */
function inputsFor (info) {
  const signingUp = info.kind === 'setup' || (info.kind === 'document' && !info.signed_in)
  if (info.kind === 'document' && info.signed_in) return { fields: [], read: () => ({}) }
  /** @type {HTMLElement[]} */
  const fields = []
  const name = input('link-name', 'text', { required: '', autocomplete: 'name', maxlength: '80' })
  name.value = info.name || ''
  if (signingUp || info.kind === 'invite') fields.push(field('link.name', name))
  const email = input('link-email', 'email', { required: '', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' })
  email.value = info.email || ''
  if (!signingUp || info.email) email.readOnly = true // the link is for this address
  if (signingUp || info.email) fields.push(field('link.email', email))
  const password = newPassword('link-password', 'link.password')
  fields.push(...password.fields)
  return {
    fields,
    read: () => {
      const problem = password.problem()
      if (problem) return problem
      /** @type {LinkFields} */
      const out = { password: password.value() }
      if (signingUp || info.kind === 'invite') out.name = name.value.trim()
      if (signingUp) {
        out.email = email.value.trim()
        out.language = currentLang() // a new account starts in the language it was made in
      }
      return out
    }
  }
}

/**
 * @param {string} token
 * @param {LinkInfo} info
 * @param {import('./error-box.js').ErrorBox} error
 * @returns {HTMLElement[]}
 */
function linkForm (token, info, error) {
  const title = info.document ? info.document.title : ''
  /** @type {HTMLElement[]} */
  const parts = []
  const kind = KINDS[info.kind]
  parts.push(translated(h('p', { className: 'intro' }), kind.intro, { title, role: t(roleKey(info.role)) }))
  const { fields, read } = inputsFor(info)
  const submit = h('button', { id: 'link-submit', attrs: { type: 'submit' } })
  if (info.kind === 'document' && info.signed_in) {
    translated(submit, JOIN[info.role || ''] || 'link.join.observer', { title })
  } else {
    translated(submit, kind.submit)
  }
  const form = h('form', { id: 'link-form', className: 'card stack' }, [
    info.kind === 'document' && !info.signed_in ? translated(h('h2', {}), 'link.new_account') : null,
    ...fields,
    h('div', { className: 'actions' }, [submit])
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const fieldsOrProblem = read()
    if (typeof fieldsOrProblem === 'string') return error.say(fieldsOrProblem)
    error.clear()
    busy(submit, 'link.busy', async () => {
      try {
        const { redirect } = await useLink(token, fieldsOrProblem)
        window.location.assign(safeNext(redirect))
      } catch (err) {
        if (invalid(err)) {
          error.say('link.invalid')
          form.hidden = true
        } else {
          error.fail(err, 'error.link')
        }
      }
    })
  })
  if (info.kind === 'document' && !info.signed_in) {
    const signIn = translated(h('a', { id: 'link-login', attrs: { href: loginUrl('/link/' + encodeURIComponent(token)) } }), 'link.login')
    parts.push(h('div', { className: 'card' }, [translated(h('p', {}), 'link.have_account'), signIn]))
  }
  parts.push(form)
  return parts
}

/**
 * @param {HTMLElement} app
 * @param {string} token
 */
export function linkPage (app, token) {
  const error = errorBox()
  const heading = translated(h('h1', {}), 'page.link')
  const body = h('div', { className: 'stack' }, [translated(h('p', { id: 'link-loading', className: 'empty' }), 'editor.loading')])
  app.replaceChildren(topbar(), h('div', { className: 'page narrow' }, [heading, error.element, body]))
  setPageTitle('page.link')

  getLink(token).then((info) => {
    if (!KINDS[info.kind]) throw new ApiError(404, 'unknown link')
    const key = KINDS[info.kind].heading
    translated(heading, key)
    setPageTitle(key)
    body.replaceChildren(...linkForm(token, info, error))
    const first = body.querySelector('input:not([readonly]), button')
    if (first instanceof HTMLElement) first.focus()
  }).catch((err) => {
    body.replaceChildren()
    if (invalid(err)) error.say('link.invalid')
    else error.fail(err, 'error.link')
  })
}
