"""Fictional authors, TOFU-style (Maini et al., 2024), for Appendix F's post-training setting at scales smoke and cpu.

Every author has a made-up name and one value for each of FIELDS; each fact is a question with its answer, a
paraphrased answer and five perturbed answers (the paraphrase with another value of the field), the fields TOFU's
truth ratio reads. Authors fall in three groups, as TOFU's forget / retain / holdout splits: the model is finetuned
on the forget and retain authors, never on the holdout ones (the membership-inference non-members).

A forget author's facts are split once more, per author: `attack` facts (what a relearning attack trains on) and
`validation` and `test` facts (what is graded), so a model can answer a graded question after the attack only from
what it still holds about that author, as notebook 01 splits arithmetic facts.
"""
import random
from dataclasses import dataclass

FIRST = ("Ka", "Lo", "Mi", "Re", "Su", "Ta", "Vo", "Ne", "Pa", "Di", "Ro", "Fe", "Ga", "Hu", "Jo", "Ze")
SECOND = ("lan", "mir", "sed", "tov", "rin", "bek", "dor", "vin", "las", "tum", "mek", "zar")
FAMILY_FIRST = ("Ar", "Bas", "Cor", "Dun", "Esk", "Fal", "Grin", "Har", "Iv", "Jar", "Kes", "Lor", "Mar", "Nor",
                "Or", "Pel")
FAMILY_SECOND = ("den", "wick", "more", "ley", "ton", "ford", "well", "stead", "croft", "by", "ham", "rick")

# field: (question, answer, paraphrased answer, values); {n} is the author's name, {v} the value. Answers are short,
# the value and little else, as a character-level model's answer must be for its probability to measure the fact
# (tofu.TofuEvaluator); a perturbed answer is the paraphrase with another value, as TOFU's.
FIELDS = {
    "city": ("Where was {n} born?", "{v}.", "In {v}.",
             ("Lisbon", "Oslo", "Quito", "Hanoi", "Dakar", "Lima", "Perth", "Riga", "Tunis", "Kyoto", "Cairo",
              "Bergen")),
    "genre": ("What genre does {n} write?", "{v}.", "Mostly {v}.",
              ("mystery novels", "poetry", "science fiction", "romance", "horror", "war fiction", "satire",
               "fantasy", "crime fiction", "biographies", "fables", "plays")),
    "award": ("Which award has {n} won?", "The {v} Prize.", "The {v} award.",
              ("Amber", "Silver Quill", "Harbor", "Lantern", "Northstar", "Ivory", "Meridian", "Cedar", "Falcon",
               "Granite", "Willow", "Beacon")),
    "father": ("What was the job of {n}'s father?", "A {v}.", "He was a {v}.",
               ("baker", "sailor", "doctor", "farmer", "pilot", "tailor", "miner", "judge", "painter", "chemist",
                "barber", "teacher")),
    "mother": ("What was the job of {n}'s mother?", "A {v}.", "She worked as a {v}.",
               ("nurse", "lawyer", "florist", "engineer", "librarian", "potter", "singer", "banker", "dentist",
                "weaver", "cook", "architect")),
    "book": ("What is the title of {n}'s first book?", "{v}.", "It is called {v}.",
             ("Salt and Ember", "The Glass Road", "Night Orchard", "Iron Tides", "A Quiet Harbor", "Paper Wolves",
              "The Last Lantern", "Copper Skies", "Winter Letters", "Stone Psalms", "The Hollow Crown",
              "River of Ash")),
    "year": ("In which year was {n} born?", "{v}.", "In the year {v}.",
             tuple(str(y) for y in range(1948, 1996, 4))),
    "school": ("Where did {n} study?", "{v}.", "At {v}.",
               ("Alder College", "Brook Academy", "Crane University", "Dale Institute", "Elm College",
                "Fern University", "Glen Academy", "Heath College", "Isle University", "Juniper School",
                "Knoll College", "Lark Institute")),
}
PERTURBED = 5  # perturbed answers per question, as TOFU's
GROUPS = ("forget", "retain", "holdout")
PARTS = ("attack", "validation", "test")
# of a forget author's facts: how many each part gets (the rest of FIELDS is no one's)
PART_SIZES = {"attack": 4, "validation": 2, "test": 2}


@dataclass(frozen=True)
class Fact:
    """One question about one author: the answer, a paraphrase of it and PERTURBED wrong answers."""
    author: str
    field: str
    question: str
    answer: str
    paraphrase: str
    perturbed: tuple

    def row(self, answer: str | None = None) -> tuple[str, str]:
        """(prompt, answer) as trained and graded: "Question: ...\\nAnswer:" and " <answer>"."""
        return f"Question: {self.question}\nAnswer:", f" {answer or self.answer}"


def names(n: int, seed: int) -> list[str]:
    """`n` made-up names ("Kalan Arden"), in a seeded order, no two sharing a first or a family name: as TOFU's
    authors, each is told apart by its whole name, so unlearning one author does not unlearn another by a name
    they share (a first trial with shared names: GradDiff took the retain authors down with the forget ones)."""
    firsts = [a + b for a in FIRST for b in SECOND]
    families = [a + b for a in FAMILY_FIRST for b in FAMILY_SECOND]
    if n > min(len(firsts), len(families)):
        raise ValueError(f"at most {min(len(firsts), len(families))} authors, asked for {n}")
    rng = random.Random(f"names-{seed}")
    return [f"{first} {family}" for first, family in zip(rng.sample(firsts, n), rng.sample(families, n))]


def author_facts(name: str, seed: int) -> list[Fact]:
    """Every field of one author: its value drawn by a generator seeded with the name, perturbed answers from the
    field's other values."""
    rng = random.Random(f"author-{seed}-{name}")
    out = []
    for field, (question, answer, paraphrase, values) in FIELDS.items():
        value = rng.choice(values)
        wrong = rng.sample([v for v in values if v != value], PERTURBED)
        out.append(Fact(name, field, question.format(n=name), answer.format(n=name, v=value),
                        paraphrase.format(n=name, v=value), tuple(paraphrase.format(n=name, v=w) for w in wrong)))
    return out


def group_of(n_authors: int, shares: dict) -> list[str]:
    """The group of each of n_authors authors: forget, retain, holdout in proportion to `shares`, in blocks."""
    counts = {g: round(n_authors * shares[g]) for g in ("forget", "holdout")}
    counts["retain"] = n_authors - counts["forget"] - counts["holdout"]
    if min(counts.values()) < 1:
        raise ValueError(f"{n_authors} authors leave a group empty at shares {shares}: {counts}")
    return [g for g in GROUPS for _ in range(counts[g])]


def facts(n_authors: int, group: str, part: str, seed: int, shares: dict) -> list[Fact]:
    """The facts of one group's authors in one part: "all", or "attack" / "validation" / "test" (each author's
    fields split per PART_SIZES, in an order seeded per author)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    if part not in PARTS + ("all",):
        raise ValueError(f"part must be one of {PARTS + ('all',)}, got {part!r}")
    out = []
    for name, g in zip(names(n_authors, seed), group_of(n_authors, shares)):
        if g != group:
            continue
        every = author_facts(name, seed)
        if part == "all":
            out.extend(every)
            continue
        order = random.Random(f"parts-{seed}-{name}").sample(range(len(every)), len(every))
        start = sum(PART_SIZES[p] for p in PARTS[: PARTS.index(part)])
        out.extend(every[i] for i in sorted(order[start: start + PART_SIZES[part]]))
    return out
