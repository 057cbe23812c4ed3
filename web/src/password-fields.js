/**
 * A new password typed twice. The server enforces its own rules; the browser checks the two
 * that need no server: at least MIN_PASSWORD_LENGTH characters, and both the same.
 */
import { field, input } from './fields.js'

export const MIN_PASSWORD_LENGTH = 10

/**
 * @param {string} id the first input's id; the second is `${id}2`
 * @param {string} labelKey
 * @returns {{ fields: HTMLDivElement[], value: () => string, problem: () => string | null, reset: () => void }}
 */
export function newPassword (id, labelKey) {
  const first = input(id, 'password', { required: '', autocomplete: 'new-password' })
  const second = input(id + '2', 'password', { required: '', autocomplete: 'new-password' })
  return {
    fields: [field(labelKey, first, 'password.rule'), field('password.repeat', second)],
    value: () => first.value,
    // the catalog key of what is wrong, or null
    problem: () => {
      if (Array.from(first.value).length < MIN_PASSWORD_LENGTH) return 'password.too_short'
      if (first.value !== second.value) return 'password.mismatch'
      return null
    },
    reset: () => {
      first.value = ''
      second.value = ''
    }
  }
}
