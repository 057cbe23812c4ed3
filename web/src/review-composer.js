/**
 * The form that starts a thread (#review-form), opened from the sidebar's buttons or their
 * shortcuts on the current selection: a comment (#review-body), or a suggestion (the new text
 * #review-replacement, prefilled with the selected text, and an optional reason #review-body).
 * Ctrl+Enter sends, Escape closes.
 */
import { h } from './dom.js'
import { t, translated } from './i18n.js'

/**
 * @typedef {object} Draft
 * @property {'comment' | 'suggestion'} kind
 * @property {string} body
 * @property {string} replacement
 */

/**
 * @param {(textarea: HTMLTextAreaElement) => HTMLElement} mentions
 * @param {(draft: Draft) => Promise<boolean>} send true when the thread was made
 */
export function reviewComposer (mentions, send) {
  const heading = h('h3', { id: 'review-form-heading' })
  const quote = h('blockquote', { className: 'thread-quote', id: 'review-quote' })
  const replacement = h('textarea', { id: 'review-replacement', attrs: { rows: '3' } })
  const replacementLabel = translated(h('label', { attrs: { for: 'review-replacement' } }), 'review.replacement')
  const body = h('textarea', { id: 'review-body', attrs: { rows: '3' } })
  const bodyLabel = h('label', { attrs: { for: 'review-body' } })
  const submit = translated(h('button', { id: 'review-submit', attrs: { type: 'submit' } }), 'review.send')
  const cancel = translated(h('button', { id: 'review-cancel', className: 'link-button', attrs: { type: 'button' } }), 'review.cancel')
  const replacementField = h('div', { className: 'field' }, [replacementLabel, replacement])
  const form = h('form', { id: 'review-form', className: 'review-form', attrs: { 'aria-labelledby': 'review-form-heading' } }, [
    heading,
    quote,
    replacementField,
    h('div', { className: 'field' }, [bodyLabel, mentions(body)]),
    h('div', { className: 'actions' }, [submit, cancel])
  ])
  form.hidden = true
  /** @type {'comment' | 'suggestion'} */
  let kind = 'comment'

  const close = () => {
    form.hidden = true
    body.value = ''
    replacement.value = ''
  }
  const go = async () => {
    const draft = { kind, body: body.value.trim(), replacement: replacement.value }
    if (kind === 'comment' && !draft.body) return body.focus()
    submit.disabled = true
    translated(submit, 'review.sending')
    try {
      if (await send(draft)) close()
    } finally {
      submit.disabled = false
      translated(submit, 'review.send')
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    go()
  })
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      go()
    } else if (event.key === 'Escape') {
      close()
    }
  })
  cancel.addEventListener('click', close)

  return {
    element: form,
    close,
    /**
     * @param {'comment' | 'suggestion'} next
     * @param {string} quoted the selected text
     */
    open (next, quoted) {
      kind = next
      form.dataset.kind = next
      translated(heading, next === 'suggestion' ? 'review.new_suggestion' : 'review.new_comment')
      translated(bodyLabel, next === 'suggestion' ? 'review.reason' : 'review.comment_label')
      quote.replaceChildren(quoted || t('review.at_cursor'))
      quote.classList.toggle('empty', !quoted)
      replacementField.hidden = next !== 'suggestion'
      replacement.value = next === 'suggestion' ? quoted : ''
      body.value = ''
      form.hidden = false
      ;(next === 'suggestion' ? replacement : body).focus()
    }
  }
}
