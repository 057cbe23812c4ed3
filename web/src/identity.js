/**
 * How this browser shows itself in "who is here" and on its own cursor: the account's name,
 * and a colour (the server's, if /api/me gives one; else derived from the name, the same in
 * every browser).
 */

/** Twelve colours that carry white text (cursor labels) and show on white. */
export const PALETTE = [
  '#c62828', '#ad1457', '#6a1b9a', '#4527a0', '#283593', '#1565c0',
  '#00838f', '#00695c', '#2e7d32', '#558b2f', '#e65100', '#6d4c41'
]

const COLOR = /^#[0-9a-f]{6}$/i

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
 * @param {string} name
 * @param {string} [color] '#rrggbb'
 * @returns {User}
 */
export function userFor (name, color) {
  const chosen = color && COLOR.test(color) ? color : colorFor(name)
  return { name, color: chosen, colorLight: chosen + '33' }
}
