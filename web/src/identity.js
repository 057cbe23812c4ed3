/**
 * Who this browser is to the others: a display name kept in localStorage and a stable colour
 * derived from it.
 */
import { load, save } from './storage.js'

const NAME_KEY = 'accord.name'
export const MAX_NAME_LENGTH = 40

/** Twelve colours that carry white text (cursor labels) and show on white. */
export const PALETTE = [
  '#c62828', '#ad1457', '#6a1b9a', '#4527a0', '#283593', '#1565c0',
  '#00838f', '#00695c', '#2e7d32', '#558b2f', '#e65100', '#6d4c41'
]

/**
 * @typedef {object} User
 * @property {string} name
 * @property {string} color
 * @property {string} colorLight the colour at 20% opacity, for remote selections
 */

/**
 * FNV-1a, 32 bits, over UTF-16 code units.
 * @param {string} text
 */
function hash (text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The same name always gets the same colour, in every browser.
 * @param {string} name
 */
export function colorFor (name) {
  return PALETTE[hash(name.normalize('NFC')) % PALETTE.length]
}

/**
 * @param {string} raw
 * @returns {string} the name as kept: trimmed, inner runs of space collapsed, bounded
 */
export function cleanName (raw) {
  return Array.from(raw.replace(/\s+/g, ' ').trim()).slice(0, MAX_NAME_LENGTH).join('')
}

/** @returns {string | null} */
export function storedName () {
  const name = cleanName(load(NAME_KEY) || '')
  return name || null
}

/** @param {string} name */
export function storeName (name) {
  save(NAME_KEY, name)
}

/**
 * @param {string} name
 * @returns {User}
 */
export function userFor (name) {
  const color = colorFor(name)
  return { name, color, colorLight: color + '33' }
}
