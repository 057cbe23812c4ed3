/**
 * Review on the editor page, composed in one place: the threads of the document (comments and
 * suggestions, from comments-api.js and kept live by review-live.js), their ranges resolved
 * from the anchors against the local Y.Doc (review-place.js), marked in the editor
 * (review-highlights.js) and in the preview (review-preview.js), and listed in the sidebar
 * (review-sidebar.js, review-thread.js), where the selection can be commented on or a change
 * suggested (review-composer.js, shortcuts Ctrl+Alt+M and Ctrl+Alt+S).
 *
 * Nothing is asked of the server before the provider first syncs. A new thread is posted only
 * once the provider is synced; a 409 with `retry: true` (the server has not seen the edits the
 * anchor refers to yet) is retried shortly.
 */
import { EditorView } from '@codemirror/view'
import { ApiError, listMembers } from './api.js'
import { makeAnchor } from './anchors.js'
import * as api from './comments-api.js'
import { whenSynced } from './connection.js'
import { h } from './dom.js'
import { currentLang, onLangChange, translated } from './i18n.js'
import { withMentions } from './mentions.js'
import { reviewComposer } from './review-composer.js'
import { reviewHighlights, showMarks } from './review-highlights.js'
import { reviewEvents } from './review-live.js'
import { isMarked, orderPlaced, placeThread } from './review-place.js'
import { markPreview } from './review-preview.js'
import { reviewSidebar } from './review-sidebar.js'
import { threadCard } from './review-thread.js'

const REDRAW_MS = 50
const READ_DELAY_MS = 300

/** @typedef {import('./comments-api.js').Thread} Thread */

/**
 * Does this thread concern `me`: one I took part in, or one that names me?
 * @param {Thread} thread
 * @param {string} me
 */
function concerns (thread, me) {
  /** @param {{ author: { id: number }, mentions?: { id: number }[] }} c */
  const involves = (c) => String(c.author.id) === me || (c.mentions || []).some((p) => String(p.id) === me)
  return involves(thread) || thread.replies.some(involves)
}

/**
 * @param {object} options
 * @param {string} options.id the document
 * @param {import('yjs').Doc} options.ydoc
 * @param {import('yjs').Text} options.ytext
 * @param {import('y-websocket').WebsocketProvider} options.provider
 * @param {Promise<import('./api.js').Me>} options.me
 * @param {import('./access.js').AccessTracker} options.access
 * @param {import('./error-box.js').ErrorBox} options.error
 */
export function review ({ id, ydoc, ytext, provider, me, access, error }) {
  /** @type {Map<number, Thread>} */
  const threads = new Map()
  /** @type {Map<number, { signature: string, card: HTMLLIElement }>} */
  const cards = new Map()
  /** @type {Map<number, string>} */
  const drafts = new Map()
  const can = { loaded: false, comment: false, delegatesDecide: false }
  /** @type {Map<number, import('./comments-api.js').ReviewOrganization>} */
  const organizations = new Map()
  /** @type {number | null} */
  let selected = null
  /** @type {EditorView | null} */
  let view = null
  let refreshPreview = () => {}
  /** @type {string | null} */
  let myId = null
  /** @type {{ anchor: import('./comments-api.js').Anchor, quote: string } | null} */
  let pending = null
  /** @type {Promise<string[]> | null} */
  let memberNames = null
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null

  const names = () => {
    memberNames = memberNames || listMembers(id).then((d) => d.members.map((m) => m.name))
    memberNames.catch(() => { memberNames = null })
    return memberNames
  }
  const mentions = (/** @type {HTMLTextAreaElement} */ box) => withMentions(box, names)

  /** @param {Thread} thread */
  const place = (thread) => placeThread(thread, { ydoc, ytext, selected })
  const ordered = () => orderPlaced([...threads.values()], { ydoc, ytext, selected })

  /** @type {import('./review-thread.js').CardContext} */
  const ctx = {
    me: null,
    chair: false,
    drafts,
    mentions,
    select: (threadId) => select(threadId, true),
    act: async (call, key) => {
      error.clear()
      try {
        upsert(await call())
        return true
      } catch (err) {
        if (err instanceof ApiError && err.status === 409 && err.data && err.data.conflict) {
          error.say('review.accept_conflict')
          load()
        } else if (err instanceof ApiError && err.status === 409 && err.data && err.data.decided) {
          error.say(err.data.decided === 'accepted' ? 'review.already_accepted' : 'review.already_rejected')
          load()
        } else {
          error.fail(err, key)
        }
        return false
      }
    },
    api: {
      reply: (thread, body) => api.reply(id, thread, body),
      edit: (comment, body) => api.editComment(id, comment, body),
      remove: (comment) => api.deleteComment(id, comment),
      resolve: (thread) => api.resolveThread(id, thread),
      reopen: (thread) => api.reopenThread(id, thread),
      accept: (thread) => api.acceptSuggestion(id, thread),
      reject: (thread) => api.rejectSuggestion(id, thread)
    }
  }

  const sidebar = reviewSidebar({
    onAdd: (kind) => add(kind),
    onFilter: () => render(),
    onDelegatesDecide: (on) => {
      error.clear()
      api.updateReviewSettings(id, on).then((s) => {
        can.delegatesDecide = s.delegates_decide
        load()
      }, (err) => {
        error.fail(err, 'error.review')
        permissions()
      })
    }
  })
  const composer = reviewComposer(mentions, send)
  sidebar.composerSlot.append(composer.element)

  function permissions () {
    const role = access.get().role
    ctx.chair = role === 'chair'
    sidebar.setPermissions({
      canComment: can.loaded && can.comment,
      reasonKey: can.loaded && !can.comment ? (role === 'observer' ? 'review.observer_reason' : 'review.cannot_comment') : null,
      chair: ctx.chair,
      delegatesDecide: can.delegatesDecide
    })
  }

  function render () {
    timer = null
    const filter = sidebar.filter()
    const all = ordered()
    const shown = all.filter(({ thread }) =>
      (!filter.status || thread.status === filter.status) &&
      (!filter.mine || String(thread.author.id) === myId) &&
      (!filter.organization || String(thread.author.organization ? thread.author.organization.id : '') === filter.organization))
    // a reply being typed survives a redraw of its thread (its text is in `drafts`)
    const active = document.activeElement
    /** @type {number | null} */
    let typingIn = null
    const list = shown.map((state) => {
      const signature = JSON.stringify([state.thread, state.deleted, state.conflict, state.conflict ? state.current : '', state.selected, myId, ctx.chair, currentLang()])
      const known = cards.get(state.thread.id)
      if (known && known.signature === signature) return known.card
      if (known && active && active.classList.contains('reply-body') && known.card.contains(active)) typingIn = state.thread.id
      const card = threadCard(state, ctx)
      cards.set(state.thread.id, { signature, card })
      return card
    })
    sidebar.show(list, all.length)
    const box = typingIn === null ? null : cards.get(typingIn)?.card.querySelector('textarea.reply-body')
    if (box instanceof HTMLTextAreaElement) {
      box.focus()
      box.setSelectionRange(box.value.length, box.value.length)
    }
    if (view) {
      showMarks(view, all.filter(isMarked).map((p) => ({
        id: p.thread.id,
        kind: p.thread.kind,
        from: /** @type {{ from: number }} */ (p.pos).from,
        to: /** @type {{ to: number }} */ (p.pos).to,
        replacement: p.thread.kind === 'suggestion' && p.thread.status === 'open' ? p.thread.replacement : null,
        selected: p.selected
      })))
    }
    refreshPreview()
  }
  const schedule = () => { if (timer === null) timer = setTimeout(render, REDRAW_MS) }

  /** @param {Thread} thread */
  function upsert (thread) {
    threads.set(thread.id, thread)
    if (thread.author.organization) organizations.set(thread.author.organization.id, thread.author.organization)
    sidebar.setOrganizations([...organizations.values()])
    render()
  }

  /**
   * @param {number} threadId
   * @param {boolean} reveal also select its text in the editor and scroll there
   */
  function select (threadId, reveal) {
    selected = threadId
    render()
    const known = cards.get(threadId)
    if (known && known.card.isConnected) known.card.scrollIntoView({ block: 'nearest' })
    const thread = threads.get(threadId)
    const placed = thread ? place(thread) : null
    if (!reveal || !view || !placed || !placed.pos || placed.deleted) return
    const length = view.state.doc.length
    const from = Math.min(placed.pos.from, length)
    const to = Math.min(placed.pos.to, length)
    view.dispatch({ selection: { anchor: from, head: to }, effects: EditorView.scrollIntoView(from, { y: 'center' }) })
  }

  /** The editor's selection, also when it is read-only (then the DOM's selection). */
  function selection () {
    if (!view) return null
    let { from, to } = view.state.selection.main
    const dom = document.getSelection()
    if (from === to && dom && !dom.isCollapsed && dom.anchorNode && dom.focusNode &&
        view.contentDOM.contains(dom.anchorNode) && view.contentDOM.contains(dom.focusNode)) {
      const a = view.posAtDOM(dom.anchorNode, dom.anchorOffset)
      const b = view.posAtDOM(dom.focusNode, dom.focusOffset)
      from = Math.min(a, b)
      to = Math.max(a, b)
    }
    return { from, to, focused: view.hasFocus }
  }

  /** @param {'comment' | 'suggestion'} kind */
  function add (kind) {
    if (!can.comment) return
    const range = selection()
    if (!range || (range.from === range.to && (kind === 'comment' || !range.focused))) {
      sidebar.say('review.select_first')
      return
    }
    sidebar.say(null)
    const quote = ytext.toString().slice(range.from, range.to)
    pending = { anchor: makeAnchor(ytext, range.from, range.to), quote }
    composer.open(kind, quote)
  }

  /** @param {import('./review-composer.js').Draft} draft */
  async function send (draft) {
    const target = pending
    if (!target) return false
    error.clear()
    try {
      await whenSynced(provider)
      const thread = await api.retrying(() => draft.kind === 'suggestion'
        ? api.createSuggestion(id, { body: draft.body, anchor: target.anchor, quote: target.quote, replacement: draft.replacement })
        : api.createComment(id, { body: draft.body, anchor: target.anchor, quote: target.quote }))
      pending = null
      upsert(thread)
      select(thread.id, false)
      return true
    } catch (err) {
      error.fail(err, 'error.review')
      return false
    }
  }

  function load () {
    return api.listThreads(id).then((data) => {
      threads.clear()
      for (const org of data.organizations) organizations.set(org.id, org)
      can.loaded = true
      can.comment = data.can_comment
      can.delegatesDecide = data.delegates_decide
      permissions()
      for (const thread of data.threads) upsert(thread)
      render()
    }, (err) => {
      translated(sidebar.empty, 'review.load_failed')
      error.fail(err, 'error.review')
    })
  }

  /** @type {ReturnType<typeof setTimeout> | null} */
  let reading = null
  const markRead = () => {
    if (reading !== null) return
    reading = setTimeout(() => {
      reading = null
      api.markNoticesRead(id).catch(() => {})
    }, READ_DELAY_MS)
  }

  /** @type {{ close: () => void } | null} */
  let live = null
  let stopped = false
  // the threads, their live events and the notices once the text is here: the sync
  // connection has then also shown that this document exists and that we may read it
  whenSynced(provider).then(() => {
    if (stopped) return
    live = reviewEvents(id, {
      onThread: (thread) => {
        upsert(thread)
        if (myId !== null && concerns(thread, myId)) markRead()
      },
      onSettings: (settings) => {
        can.delegatesDecide = Boolean(settings.delegates_decide)
        load()
      },
      onReconnect: () => { load() },
      onStatus: (changed) => { access.setDocument({ status: changed.status }) }
    })
    load()
    api.markNoticesRead(id).catch(() => {}) // opened: what there was to see is here
  })
  me.then((user) => {
    myId = String(user.id)
    ctx.me = myId
    render()
  }, () => {})
  access.onChange(() => {
    permissions()
    render()
  })
  ytext.observe(schedule)
  onLangChange(() => render())
  document.addEventListener('keydown', (event) => {
    if (!(event.ctrlKey || event.metaKey) || !event.altKey) return
    if (event.code !== 'KeyM' && event.code !== 'KeyS') return
    event.preventDefault()
    add(event.code === 'KeyM' ? 'comment' : 'suggestion')
  })
  permissions()

  const toggle = translated(h('button', {
    id: 'review-toggle',
    className: 'link-button',
    attrs: { type: 'button', 'aria-expanded': 'true', 'aria-controls': 'review' }
  }), 'review.toggle')
  toggle.addEventListener('click', () => {
    sidebar.element.hidden = !sidebar.element.hidden
    toggle.setAttribute('aria-expanded', String(!sidebar.element.hidden))
  })

  return {
    /** the sidebar */
    element: sidebar.element,
    /** shows and hides the sidebar */
    toggle,
    /** the editor's marks: goes into the editor's extensions */
    extension: reviewHighlights((threadId) => select(threadId, false)),
    /**
     * @param {EditorView} editor
     * @param {HTMLElement} preview
     * @param {() => void} refresh renders the preview again (and so its marks)
     */
    attach (editor, preview, refresh) {
      view = editor
      refreshPreview = refresh
      preview.addEventListener('click', (event) => {
        const target = event.target instanceof Element ? event.target.closest('[data-thread-id]') : null
        if (target) select(Number(/** @type {HTMLElement} */ (target).dataset.threadId), true)
      })
      render()
    },
    /** no more requests or live events (the page stopped: no access, no document) */
    stop () {
      stopped = true
      if (live) live.close()
    },
    /** @param {HTMLElement} container the preview, just rendered */
    markPreview (container) {
      if (!view) return
      const doc = view.state.doc
      markPreview(container, ordered().filter(isMarked).filter((p) => p.pos && p.pos.to > p.pos.from && p.pos.to <= doc.length).map((p) => {
        const pos = /** @type {{ from: number, to: number }} */ (p.pos)
        return {
          id: p.thread.id,
          line: doc.lineAt(pos.from).number,
          endLine: doc.lineAt(pos.to).number,
          text: p.current,
          selected: p.selected
        }
      }))
    }
  }
}
