/**
 * @module @haia/llm/test
 * Test doubles of `@haia/llm`'s own interfaces for other packages' tests.
 */
export {
  type MockAnswer,
  MockLanguageModel,
  type MockLanguageModelOptions,
  type MockResult,
  type MockResultFunction,
} from './mock-language-model.js';
