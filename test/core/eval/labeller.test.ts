import * as assert from 'node:assert/strict';
import { FINDINGS, clauses, labelReport } from '../../../src/core/eval/labeller';

const present = (text: string) => FINDINGS.filter((f) => labelReport(text)[f]);

describe('core/eval/labeller', () => {
  const cases: Array<[string, string[]]> = [
    ['No pericardial effusion.', []],
    ['Pericardial effusion. No pleural effusion.', ['pericardial_effusion']],
    ['Small bilateral effusions.', ['pleural_effusion']],
    ['Fluid in the pericardial sac, consistent with pericardial effusion.', ['pericardial_effusion']],
    ['No nodule, consolidation or effusion.', []],
    ['There is no effusion but a nodule is seen.', ['lung_nodule']],
    ['Cardiomegaly is not present.', []],
    ['The heart is not enlarged. Lymph nodes are not enlarged.', []],
    ['The heart is enlarged.', ['cardiomegaly']],
    ['Enlarged hilar lymph nodes, up to 14 mm.', ['lymphadenopathy']],
    ['Nodule measuring 12.5 mm. Emphysema.', ['lung_nodule', 'emphysema']],
    ['The pleural effusion has resolved.', []],
    ['Without calcification; atherosclerotic plaque of the aorta.', ['arterial_calcification']],
    ['Right lower lobe consolidation with air bronchograms.', ['consolidation']],
    ['', []],
  ];
  for (const [text, expected] of cases) {
    it(`labels ${JSON.stringify(text)} as [${expected.join(', ')}]`, () => {
      assert.deepEqual(present(text), expected);
    });
  }

  it('splits sentences at "." but not inside decimals, and clauses at "but"', () => {
    assert.deepEqual(clauses('A 12.5 mm nodule. No effusion but edema'), [
      ['a', '12.5', 'mm', 'nodule'], ['no', 'effusion'], ['edema'],
    ]);
  });
});
