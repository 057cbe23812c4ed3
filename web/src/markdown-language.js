/**
 * Markdown for CodeMirror, straight from @lezer/markdown: CommonMark plus the two GFM
 * extensions the renderer enables (tables, strikethrough). @codemirror/lang-markdown is left
 * out on purpose: it pulls in HTML, CSS and JavaScript support the editor does not need.
 */
import { parser as commonmark, Strikethrough, Table } from '@lezer/markdown'
import {
  HighlightStyle,
  Language,
  LanguageSupport,
  defineLanguageFacet,
  languageDataProp,
  syntaxHighlighting
} from '@codemirror/language'
import { tags } from '@lezer/highlight'

const data = defineLanguageFacet({ commentTokens: { block: { open: '<!--', close: '-->' } } })

const parser = commonmark.configure([
  Table,
  Strikethrough,
  { props: [languageDataProp.add({ Document: data })] }
])

export const markdownLanguage = new Language(data, parser, [], 'markdown')

/** Quiet, readable highlighting: structure in weight and colour, no rainbow. */
const style = HighlightStyle.define([
  { tag: tags.heading1, fontWeight: 'bold', fontSize: '1.3em' },
  { tag: tags.heading2, fontWeight: 'bold', fontSize: '1.15em' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: 'bold' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strong, fontWeight: 'bold' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: '#1a5fb4' },
  { tag: tags.monospace, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', color: '#6b2c91' },
  { tag: tags.quote, color: '#4d5761', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.contentSeparator, tags.labelName], color: '#8a6d00' },
  { tag: [tags.meta, tags.comment], color: '#6c737a' }
])

/** @returns {LanguageSupport} */
export function markdown () {
  return new LanguageSupport(markdownLanguage, [syntaxHighlighting(style)])
}
