"""model.choices: the candidate answers are written as the dataset writes them, and the text is read as scored."""

from model.choices import answer_text, candidate_answers
from model.synth import dataset_lines, generate_case


def test_candidates_are_the_dataset_answer_forms_and_text_ignores_the_letter():
    line = next(l for i in range(40) for l in dataset_lines(generate_case(0, "val", i), "x") if l.get("choices"))
    assert line["answer"] in candidate_answers(line)  # the reference answer is one of the four
    assert len(candidate_answers(line)) == 4 and candidate_answers(line)[1].startswith("B. ")
    assert answer_text("b. pleural effusion.") == "pleural effusion" == answer_text("C. Pleural effusion")
    assert answer_text("d. none of the above") == "none of the above"


def test_a_missing_package_or_split_is_a_message_not_a_traceback(tmp_path, capsys):
    from model.choices import main as choices
    from model.nodule_size import main as nodule_size

    data = tmp_path / "split"
    data.mkdir()
    assert choices(["--package", str(tmp_path), "--data", str(data)]) == 2
    assert "no dataset.jsonl" in capsys.readouterr().err
    (data / "dataset.jsonl").write_text("")
    (data / "cases.jsonl").write_text("")
    for main, name in ((choices, "model.choices"), (nodule_size, "model.nodule_size")):
        assert main(["--package", str(tmp_path / "nowhere"), "--data", str(data)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{name}: ") and "config.json is missing" in err and "Traceback" not in err
