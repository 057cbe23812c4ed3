/**
 * Dates from the API (ISO 8601 strings, or Unix seconds or milliseconds) in the page's language.
 */
import { currentLang } from './i18n.js'

/**
 * @param {string | number | null | undefined} value
 * @returns {Date | null}
 */
export function parseDate (value) {
  if (value === null || value === undefined || value === '') return null
  if (typeof value === 'number') return new Date(value < 1e11 ? value * 1000 : value)
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? null : date
}

/**
 * @param {Date} date
 * @returns {string}
 */
export function formatDate (date) {
  return new Intl.DateTimeFormat(currentLang(), { dateStyle: 'medium', timeStyle: 'short' }).format(date)
}
