/**
 * Who is a member of the document, with which role: #members opens #members-panel, which
 * lists GET /api/documents/{id}/members (#member-list, li[data-user-id]). A chair
 * (`can_manage`) also changes roles (.member-role), removes people (.member-remove, then an
 * inline confirmation .member-remove-confirm / .member-remove-cancel), and adds people and
 * invitation links (member-invite.js).
 */
import { listMembers, removeMember, setMemberRole } from './api.js'
import { h } from './dom.js'
import { translated } from './i18n.js'
import { memberInvite } from './member-invite.js'
import { roleKey } from './roles.js'
import { roleSelect } from './role-select.js'

/** @typedef {import('./api.js').Member} Member */

/**
 * @typedef {object} PanelContext
 * @property {string} id the document
 * @property {() => Promise<void>} refresh
 * @property {import('./error-box.js').ErrorBox} error
 */

/**
 * The remove button, which asks first, in place.
 * @param {Member} member
 * @param {PanelContext} ctx
 */
function removeControl (member, ctx) {
  const box = h('span', { className: 'member-actions' })
  const ask = translated(h('button', { className: 'member-remove link-button', attrs: { type: 'button' } }), 'members.remove')
  const confirm = translated(h('button', { className: 'member-remove-confirm danger', attrs: { type: 'button' } }), 'members.remove_confirm')
  const cancel = translated(h('button', { className: 'member-remove-cancel link-button', attrs: { type: 'button' } }), 'members.cancel')
  const question = translated(h('span', { className: 'confirm-question' }), 'members.remove_question', { name: member.name })
  const asking = h('span', { className: 'confirm', attrs: { role: 'group' } }, [question, ' ', confirm, ' ', cancel])
  /** @param {boolean} on */
  const show = (on) => {
    ask.hidden = on
    asking.hidden = !on
    if (on) cancel.focus()
    else ask.focus()
  }
  asking.hidden = true
  ask.addEventListener('click', () => show(true))
  cancel.addEventListener('click', () => show(false))
  confirm.addEventListener('click', async () => {
    confirm.disabled = true
    ctx.error.clear()
    try {
      await removeMember(ctx.id, member.user_id)
      await ctx.refresh()
    } catch (err) {
      confirm.disabled = false
      ctx.error.fail(err, 'error.members')
    }
  })
  box.append(ask, asking)
  return box
}

/**
 * The member's role as a select, labelled "Role of {name}" for screen readers.
 * @param {Member} member
 * @param {PanelContext} ctx
 */
function roleControl (member, ctx) {
  const select = roleSelect(member.role, { className: 'member-role' })
  select.addEventListener('change', async () => {
    const role = /** @type {import('./api.js').Role} */ (select.value)
    select.disabled = true
    ctx.error.clear()
    try {
      await setMemberRole(ctx.id, member.user_id, role)
      await ctx.refresh()
    } catch (err) {
      select.value = member.role
      ctx.error.fail(err, 'error.members')
    } finally {
      select.disabled = false
    }
  })
  return h('label', { className: 'member-role-box' }, [
    translated(h('span', { className: 'visually-hidden' }), 'members.role_of', { name: member.name }),
    select
  ])
}

/**
 * @param {Member} member
 * @param {boolean} manage
 * @param {PanelContext} ctx
 */
function memberItem (member, manage, ctx) {
  const who = h('span', { className: 'member-who' }, [
    h('span', { className: 'member-name' }, [member.name]),
    member.organization ? h('span', { className: 'member-org' }, [member.organization]) : null,
    member.email ? h('span', { className: 'member-email' }, [member.email]) : null
  ])
  const item = h('li', { data: { userId: String(member.user_id), role: member.role } }, [who])
  if (manage) {
    item.append(roleControl(member, ctx), removeControl(member, ctx))
  } else {
    item.append(translated(h('span', { className: 'role', data: { role: member.role } }), roleKey(member.role)))
  }
  return item
}

/**
 * @param {string} id the document
 * @param {import('./error-box.js').ErrorBox} error
 * @returns {{ button: HTMLButtonElement, panel: HTMLElement }}
 */
export function membersPanel (id, error) {
  const button = translated(h('button', {
    id: 'members',
    className: 'link-button',
    attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'members-panel' }
  }), 'members.open')
  const list = h('ul', { id: 'member-list', className: 'member-list' })
  const status = translated(h('p', { className: 'empty' }), 'members.loading')
  /** @type {PanelContext} */
  const ctx = { id, error, refresh: async () => {} }
  const invite = memberInvite(ctx)
  invite.element.hidden = true
  const panel = h('section', { id: 'members-panel', className: 'card members-panel', attrs: { 'aria-labelledby': 'members-heading' } }, [
    translated(h('h2', { id: 'members-heading' }), 'members.heading'),
    status,
    list,
    invite.element
  ])
  panel.hidden = true

  ctx.refresh = async () => {
    const data = await listMembers(id)
    status.hidden = true
    list.replaceChildren(...data.members.map((member) => memberItem(member, data.can_manage, ctx)))
    invite.element.hidden = !data.can_manage
    invite.show(data.invitations)
  }
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
    if (panel.hidden) return
    ctx.refresh().catch((err) => {
      status.hidden = true
      error.fail(err, 'error.members')
    })
  })
  return { button, panel }
}
