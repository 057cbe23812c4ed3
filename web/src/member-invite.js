/**
 * What a chair uses to bring people in, in the members panel:
 * - #add-member-form (#add-member-email, #add-member-role): someone who has an account;
 * - #invite-form (#invite-role, optional #invite-email): a one-time invitation link, shown in
 *   the read-only #invite-url with #invite-copy;
 * - the pending invitations (#invitation-list, li[data-invitation-id]), each with
 *   .invitation-revoke.
 */
import { ApiError, addMember, createInvitation, revokeInvitation } from './api.js'
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { busy, field, input } from './fields.js'
import { onLangChange, translated, translatedAttr } from './i18n.js'
import { roleKey } from './roles.js'
import { roleSelect } from './role-select.js'

/** @typedef {import('./members-panel.js').PanelContext} PanelContext */
/** @typedef {import('./api.js').Role} Role */

/** @param {string | number | null | undefined} value */
function when (value) {
  const date = parseDate(value)
  return date ? formatDate(date) : String(value ?? '')
}

/** @param {PanelContext} ctx */
function addMemberForm (ctx) {
  const email = input('add-member-email', 'email', { required: '', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' })
  const role = roleSelect('delegate', { id: 'add-member-role' })
  const submit = translated(h('button', { id: 'add-member-submit', attrs: { type: 'submit' } }), 'members.add_submit')
  const form = h('form', { id: 'add-member-form', className: 'stack' }, [
    translated(h('h3', {}), 'members.add_heading'),
    h('div', { className: 'row' }, [field('members.email', email), field('members.role', role), submit])
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    ctx.error.clear()
    busy(submit, 'members.busy', async () => {
      try {
        await addMember(ctx.id, email.value.trim(), /** @type {Role} */ (role.value))
        email.value = ''
        await ctx.refresh()
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) ctx.error.say('members.no_account')
        else ctx.error.fail(err, 'error.members')
      }
    })
  })
  return form
}

/**
 * Copy the link: the clipboard API where allowed, else the selection.
 * @param {HTMLInputElement} url
 * @param {HTMLButtonElement} button
 */
async function copy (url, button) {
  url.select()
  try {
    await navigator.clipboard.writeText(url.value)
  } catch {
    document.execCommand('copy') // older browsers, or no permission: copies the selection
  }
  translated(button, 'members.copied')
  setTimeout(() => translated(button, 'members.copy'), 2000)
}

/** @param {PanelContext} ctx */
function inviteForm (ctx) {
  const role = roleSelect('delegate', { id: 'invite-role' })
  const email = input('invite-email', 'email', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' })
  translatedAttr(email, 'placeholder', 'members.invite_email_placeholder')
  const submit = translated(h('button', { id: 'invite-submit', attrs: { type: 'submit' } }), 'members.invite_submit')
  const url = input('invite-url', 'text', { readonly: '' })
  const copyButton = translated(h('button', { id: 'invite-copy', attrs: { type: 'button' } }), 'members.copy')
  const expires = h('p', { className: 'hint' })
  const result = h('div', { id: 'invite-result', className: 'stack' }, [
    field('members.invite_url', url),
    h('div', { className: 'row' }, [copyButton]),
    expires
  ])
  result.hidden = true
  const form = h('form', { id: 'invite-form', className: 'stack' }, [
    translated(h('h3', {}), 'members.invite_heading'),
    translated(h('p', { className: 'help' }), 'members.invite_help'),
    h('div', { className: 'row' }, [field('members.role', role), field('members.invite_email', email), submit]),
    result
  ])
  copyButton.addEventListener('click', () => { copy(url, copyButton) })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    ctx.error.clear()
    busy(submit, 'members.busy', async () => {
      try {
        const made = await createInvitation(ctx.id, /** @type {Role} */ (role.value), email.value.trim() || undefined)
        url.value = new URL(made.url, window.location.origin).href
        translated(expires, 'members.invite_expires', { date: when(made.expires_at) })
        result.hidden = false
        email.value = ''
        url.focus()
        url.select()
        await ctx.refresh()
      } catch (err) {
        ctx.error.fail(err, 'error.members')
      }
    })
  })
  return form
}

/**
 * @param {import('./api.js').Invitation} invitation
 * @param {PanelContext} ctx
 */
function invitationItem (invitation, ctx) {
  const revoke = translated(h('button', { className: 'invitation-revoke link-button', attrs: { type: 'button' } }), 'members.revoke')
  revoke.addEventListener('click', async () => {
    revoke.disabled = true
    ctx.error.clear()
    try {
      await revokeInvitation(ctx.id, invitation.id)
      await ctx.refresh()
    } catch (err) {
      revoke.disabled = false
      ctx.error.fail(err, 'error.members')
    }
  })
  const who = invitation.email
    ? h('span', { className: 'member-email' }, [invitation.email])
    : translated(h('span', { className: 'member-email' }), 'members.anyone')
  return h('li', { data: { invitationId: String(invitation.id) } }, [
    h('span', { className: 'member-who' }, [
      who,
      translated(h('span', { className: 'hint' }), 'members.expires', { date: when(invitation.expires_at) })
    ]),
    translated(h('span', { className: 'role', data: { role: invitation.role } }), roleKey(invitation.role)),
    revoke
  ])
}

/**
 * @param {PanelContext} ctx
 * @returns {{ element: HTMLElement, show: (invitations: import('./api.js').Invitation[]) => void }}
 */
export function memberInvite (ctx) {
  const list = h('ul', { id: 'invitation-list', className: 'member-list' })
  const pending = h('div', { className: 'stack' }, [translated(h('h3', {}), 'members.pending'), list])
  /** @type {import('./api.js').Invitation[]} */
  let invitations = []
  const render = () => {
    list.replaceChildren(...invitations.map((invitation) => invitationItem(invitation, ctx)))
    pending.hidden = invitations.length === 0
  }
  onLangChange(render) // the dates
  render()
  return {
    element: h('div', { className: 'member-invite stack' }, [addMemberForm(ctx), inviteForm(ctx), pending]),
    show: (next) => {
      invitations = next
      render()
    }
  }
}
