"""model.choices: the candidate answers are written as the dataset writes them, and the text is read as scored."""

from model.choices import answer_text, candidate_answers
from model.synth import dataset_lines, generate_case


def test_candidates_are_the_dataset_answer_forms_and_text_ignores_the_letter():
    line = next(l for i in range(40) for l in dataset_lines(generate_case(0, "val", i), "x") if l.get("choices"))
    assert line["answer"] in candidate_answers(line)  # the reference answer is one of the four
    assert len(candidate_answers(line)) == 4 and candidate_answers(line)[1].startswith("B. ")
    assert answer_text("b. pleural effusion.") == "pleural effusion" == answer_text("C. Pleural effusion")
    assert answer_text("d. none of the above") == "none of the above"
