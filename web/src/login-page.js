/**
 * The login page (#login-form: #login-email, #login-password, #login-submit). After signing in
 * the browser goes to `?next=` (a path on this site) or to the documents.
 */
import { ApiError, login } from './api.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { busy, field, input } from './fields.js'
import { translated } from './i18n.js'
import { safeNext } from './session.js'
import { topbar } from './topbar.js'

/** @param {HTMLElement} app */
export function loginPage (app) {
  const error = errorBox()
  const email = input('login-email', 'email', { required: '', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' })
  const password = input('login-password', 'password', { required: '', autocomplete: 'current-password' })
  const submit = translated(h('button', { id: 'login-submit', attrs: { type: 'submit' } }), 'login.submit')
  const form = h('form', { id: 'login-form', className: 'card stack' }, [
    field('login.email', email),
    field('login.password', password),
    h('div', { className: 'actions' }, [submit])
  ])

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    error.clear()
    busy(submit, 'login.busy', async () => {
      try {
        await login(email.value.trim(), password.value)
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) error.say('login.wrong')
        else if (err instanceof ApiError && err.status === 429) error.say('login.too_many')
        else error.fail(err, 'error.login')
        password.select()
        return
      }
      window.location.assign(safeNext(new URLSearchParams(window.location.search).get('next')))
    })
  })

  app.replaceChildren(
    topbar(),
    h('div', { className: 'page narrow' }, [
      translated(h('h1', {}), 'page.login'),
      error.element,
      form,
      translated(h('p', { className: 'help' }), 'login.forgot')
    ])
  )
  email.focus()
}
