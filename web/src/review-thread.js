/**
 * One thread of the review sidebar (li.thread[data-thread-id]): who started it, what it is
 * about (the quote; for a suggestion the change as deletion + insertion; on deleted text the
 * original quote; a conflict as "proposed for" against "now"), the comment, the replies, a
 * reply box, and the actions this viewer may take (`can` from the server): edit and delete
 * one's own, resolve or reopen, accept or reject a suggestion. Clicking the thread selects it.
 */
import { h } from './dom.js'
import { formatDate, parseDate } from './dates.js'
import { t, translated } from './i18n.js'

/** @typedef {import('./comments-api.js').Thread} Thread */
/** @typedef {import('./comments-api.js').Reply} Reply */
/** @typedef {import('./comments-api.js').Person} Person */

/**
 * @typedef {object} ThreadState what the thread looks like here and now
 * @property {Thread} thread
 * @property {boolean} deleted its text is gone
 * @property {boolean} conflict a suggestion whose text changed since
 * @property {string} current its text now
 * @property {boolean} selected
 */

/**
 * @typedef {object} ThreadApi the calls a thread's buttons make, for this document
 * @property {(thread: number, body: string) => Promise<Thread>} reply
 * @property {(comment: number, body: string) => Promise<Thread>} edit
 * @property {(comment: number) => Promise<Thread>} remove
 * @property {(thread: number) => Promise<Thread>} resolve
 * @property {(thread: number) => Promise<Thread>} reopen
 * @property {(thread: number) => Promise<Thread>} accept
 * @property {(thread: number) => Promise<Thread>} reject
 */

/**
 * @typedef {object} CardContext
 * @property {string | null} me my user id, as a string
 * @property {boolean} chair
 * @property {(call: () => Promise<Thread>, key: string) => Promise<boolean>} act run, show the result or the error
 * @property {ThreadApi} api
 * @property {(id: number) => void} select
 * @property {(textarea: HTMLTextAreaElement) => HTMLElement} mentions
 * @property {Map<number, string>} drafts reply boxes' text, kept across redraws
 */

/** @type {Record<string, string>} */
const STATUS = {
  open: 'review.status_open',
  resolved: 'review.status_resolved',
  accepted: 'review.status_accepted',
  rejected: 'review.status_rejected'
}
/** @type {Record<string, string>} who closed it */
const CLOSED_BY = {
  resolved: 'review.by_resolved',
  accepted: 'review.by_accepted',
  rejected: 'review.by_rejected'
}

/**
 * @param {string} key
 * @param {string} className
 * @param {() => void} onClick
 */
function button (key, className, onClick) {
  const el = translated(h('button', { className: 'link-button ' + className, attrs: { type: 'button' } }), key)
  el.addEventListener('click', onClick)
  return el
}

/** @param {Person} person */
function byline (person) {
  const org = person.organization ? person.organization.short_name : null
  return h('span', { className: 'thread-author' }, [
    h('span', { className: 'thread-name' }, [person.name]),
    org ? h('span', { className: 'thread-org' }, [org]) : null
  ])
}

/** @param {string | null} value */
function when (value) {
  const date = parseDate(value)
  return date ? h('time', { className: 'thread-time', attrs: { datetime: date.toISOString() } }, [formatDate(date)]) : null
}

/**
 * The text of a comment, or who removed it.
 * @param {{ body: string, removed: import('./comments-api.js').Removal | null, edited_at: string | null }} comment
 */
function body (comment) {
  if (comment.removed) {
    return translated(h('p', { className: 'thread-body removed' }), comment.removed.moderated ? 'review.removed_by_chair' : 'review.removed')
  }
  return h('p', { className: 'thread-body' }, [
    comment.body,
    comment.edited_at ? translated(h('span', { className: 'thread-edited' }), 'review.edited') : null
  ])
}

/**
 * Replace a comment's text with an edit box until it is saved or cancelled.
 * @param {HTMLElement} text
 * @param {string} current
 * @param {(body: string) => Promise<boolean>} save
 */
function editInPlace (text, current, save) {
  const box = h('textarea', { className: 'thread-edit', attrs: { rows: '3' } })
  box.value = current
  const form = h('div', { className: 'thread-edit-form' }, [box])
  const actions = h('div', { className: 'actions' }, [
    button('review.save', 'thread-save', async () => {
      if (box.value.trim() && await save(box.value.trim())) return
    }),
    button('review.cancel', 'thread-cancel', () => form.replaceWith(text))
  ])
  form.append(actions)
  text.replaceWith(form)
  box.focus()
}

/**
 * Edit and delete for one comment (root or reply), when this viewer may.
 * @param {{ id: number, body: string }} comment
 * @param {HTMLElement} text
 * @param {{ edit: boolean, remove: boolean }} may
 * @param {CardContext} ctx
 */
function commentActions (comment, text, may, ctx) {
  return [
    may.edit ? button('review.edit', 'thread-edit-button', () => editInPlace(text, comment.body, (b) => ctx.act(() => ctx.api.edit(comment.id, b), 'error.review'))) : null,
    may.remove ? button('review.delete', 'thread-delete', () => { ctx.act(() => ctx.api.remove(comment.id), 'error.review') }) : null
  ]
}

/**
 * @param {Reply} reply
 * @param {CardContext} ctx
 */
function replyItem (reply, ctx) {
  const text = body(reply)
  const mine = ctx.me !== null && String(reply.author.id) === ctx.me
  const may = { edit: mine && !reply.removed, remove: (mine || ctx.chair) && !reply.removed }
  return h('li', { className: 'reply', data: { commentId: String(reply.id) } }, [
    h('div', { className: 'thread-head' }, [byline(reply.author), when(reply.created_at)]),
    text,
    h('div', { className: 'actions' }, commentActions(reply, text, may, ctx))
  ])
}

/**
 * What the thread is about: the quote, or the change a suggestion proposes.
 * @param {ThreadState} state
 */
function subject ({ thread, deleted, conflict, current }) {
  const parts = []
  if (deleted) parts.push(translated(h('p', { className: 'thread-deleted' }), 'review.on_deleted_text'))
  if (thread.kind === 'suggestion') {
    parts.push(h('p', { className: 'thread-change' }, [
      thread.quote ? h('del', {}, [thread.quote]) : null,
      thread.replacement ? h('ins', {}, [thread.replacement]) : null
    ]))
  } else if (thread.quote) {
    parts.push(h('blockquote', { className: 'thread-quote' }, [thread.quote]))
  }
  if (conflict) {
    parts.push(h('div', { className: 'thread-conflict', attrs: { role: 'note' } }, [
      translated(h('p', {}), 'review.conflict'),
      h('p', {}, [translated(h('span', { className: 'label' }), 'review.conflict_then'), ' ', h('del', {}, [thread.quote])]),
      h('p', {}, [translated(h('span', { className: 'label' }), 'review.conflict_now'), ' ', h('ins', {}, [current])])
    ]))
  }
  return parts
}

/**
 * Resolve / reopen, accept / reject.
 * @param {Thread} thread
 * @param {CardContext} ctx
 */
function decisions (thread, ctx) {
  const open = thread.status === 'open'
  const act = (/** @type {(id: number) => Promise<Thread>} */ call) => () => { ctx.act(() => call(thread.id), 'error.review') }
  if (thread.kind === 'suggestion') {
    if (!open || !thread.can.decide) return []
    return [
      button('review.accept', 'thread-accept', act(ctx.api.accept)),
      button('review.reject', 'thread-reject', act(ctx.api.reject))
    ]
  }
  if (!thread.can.resolve) return []
  return [open ? button('review.resolve', 'thread-resolve', act(ctx.api.resolve)) : button('review.reopen', 'thread-reopen', act(ctx.api.reopen))]
}

/**
 * @param {Thread} thread
 * @param {CardContext} ctx
 */
function replyForm (thread, ctx) {
  const box = h('textarea', { className: 'reply-body', attrs: { rows: '2' } })
  box.setAttribute('aria-label', t('review.reply_label'))
  box.placeholder = t('review.reply_placeholder')
  box.value = ctx.drafts.get(thread.id) || ''
  box.addEventListener('input', () => ctx.drafts.set(thread.id, box.value))
  const send = translated(h('button', { className: 'reply-send', attrs: { type: 'submit' } }), 'review.reply')
  const form = h('form', { className: 'reply-form' }, [ctx.mentions(box), send])
  const submit = async () => {
    const text = box.value.trim()
    if (!text) return
    send.disabled = true
    if (await ctx.act(() => ctx.api.reply(thread.id, text), 'error.review')) ctx.drafts.delete(thread.id)
    send.disabled = false
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    submit()
  })
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      submit()
    }
  })
  return form
}

/**
 * @param {ThreadState} state
 * @param {CardContext} ctx
 * @returns {HTMLLIElement}
 */
export function threadCard (state, ctx) {
  const { thread } = state
  const text = body(thread)
  const resolvedBy = thread.resolved && CLOSED_BY[thread.status]
    ? translated(h('p', { className: 'thread-resolved-by' }), CLOSED_BY[thread.status], { name: thread.resolved.by.name })
    : null
  const item = h('li', {
    className: 'thread' + (state.selected ? ' selected' : '') + (state.deleted ? ' on-deleted' : ''),
    data: { threadId: String(thread.id), kind: thread.kind, status: thread.status },
    attrs: { tabindex: '-1' }
  }, [
    h('div', { className: 'thread-head' }, [
      translated(h('span', { className: 'thread-kind' }), thread.kind === 'suggestion' ? 'review.kind_suggestion' : 'review.kind_comment'),
      translated(h('span', { className: 'thread-status badge', data: { status: thread.status } }), STATUS[thread.status]),
      byline(thread.author),
      when(thread.created_at)
    ]),
    ...subject(state),
    text,
    resolvedBy,
    h('div', { className: 'actions' }, [
      ...commentActions(thread, text, { edit: thread.can.edit && !thread.removed, remove: thread.can.delete && !thread.removed }, ctx),
      ...decisions(thread, ctx)
    ]),
    thread.replies.length ? h('ol', { className: 'thread-replies' }, thread.replies.map((r) => replyItem(r, ctx))) : null,
    thread.can.reply ? replyForm(thread, ctx) : null
  ])
  item.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null
    if (target && target.closest('button, textarea, input, a, select, form')) return
    ctx.select(thread.id)
  })
  return item
}
