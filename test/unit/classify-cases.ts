// Checks a list of [tool, expected category] against the classifier, reporting every mislabelled tool at once.
import assert from 'node:assert/strict';
import { classifyTool, type Category, type ClassifiableTool } from '../../src/catalog/classify.js';

export type LabelledCase = [ClassifiableTool, Category];

export function assertCategories(cases: readonly LabelledCase[]): void {
  const wrong = cases
    .map(([tool, expected]) => ({ tool: tool.name, description: tool.description, expected, got: classifyTool(tool).category }))
    .filter((r) => r.got !== r.expected);
  assert.deepEqual(wrong, []);
}
