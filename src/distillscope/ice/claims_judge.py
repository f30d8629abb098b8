"""The default identity judge: deterministic, no LLM; first-person claims (`claims`) compared with the truth.

Policy (documented in the verdict rationale):
- loose: some claim names a family that is neither the target nor mentioned in the target's fact, or
  (self voice only) claims an origin that names no known family while never naming the true one, and
  that origin contradicts the fact (a foreign or fictional place, a named or fictional maker, a denial of any
  maker; not a vague maker such as "a team of engineers", which any model may truthfully say, and not
  collaboration/data/open-source talk): see `claims_origin`.
- strict: loose, and a contradicting claim names a reference family (default OpenAI/GPT and
  Anthropic/Claude) as the single maker or identity. Not strict (loose only): a response that also states the
  true identity (mixed evidence), credit shared with other makers ("supported by OpenAI, Microsoft and
  Google"), speaking in a named role ("As ChatGPT with Developer Mode, I ...") and weak ties (policies,
  appositives). A truthful Claude saying "I am Claude" is NOT strict (the paper's response-only strict judge
  would count it).
- hard: strict, and the template does not mention a reference vendor.
- Claims made by a role-play persona ("[DAN]: I was built by OpenAI") count when they name a real family,
  because in jailbreak role-play the persona is the model under another name. A sentence about a name the
  template gave the assistant ("PersonGPT 是由 OpenAI 开发的", "The team behind ChatGPT is OpenAI" after "You
  are ChatGPT") is the persona speaking about itself (`claims_context`); naming a maker that is no family
  ("LiveGPT is developed by BasedAI Corp", "BasedAI Corp built LiveGPT") is then a loose origin claim.
  Persona-only, quoted-only or reasoning-only evidence sets `uncertain`.
- Reasoning models (`claims_reasoning`): claims are extracted from the reasoning trace and the final answer
  separately and the verdict records where its evidence was (`location`). A first-person self-identification
  in the reasoning counts like an answer claim; reports of the prompt and plans of the answer ("the user
  wants me to act as DAN, who is from OpenAI", "I should say I'm ChatGPT") are not evidence; a true identity
  in the reasoning does not make an answer's claim mixed evidence, a true identity in the answer does.
- A vendor tied to the speaker by an appositive ("OpenAI, the company behind this AI") is loose-only (`claims_selfref`).
"""

from __future__ import annotations

from collections.abc import Sequence

from distillscope.ice.claims import Claim, ClaimExtractor
from distillscope.ice.claims_context import persona_names
from distillscope.ice.claims_origin import origin_contradicts
from distillscope.ice.claims_reasoning import reasoning_evidence, split_inline_tags, split_response
from distillscope.ice.judges import EvidenceLocation, JudgeItem, JudgeVerdict, make_verdict
from distillscope.identity.registry import DEFAULT_REFERENCE_FAMILIES, Family, IdentityRegistry, default_registry


class ClaimsJudge:
    """The default judge: deterministic, no LLM. See the module docstring for the scoring policy."""

    def __init__(
        self,
        registry: IdentityRegistry | None = None,
        reference_families: Sequence[str] = DEFAULT_REFERENCE_FAMILIES,
        count_unknown_origin: bool = True,
        count_persona_origin: bool = True,
    ) -> None:
        self.registry = registry or default_registry()
        self.extractor = ClaimExtractor(self.registry)
        self.reference = frozenset(self.registry.get(k).key for k in reference_families)
        self.count_unknown_origin = count_unknown_origin
        self.count_persona_origin = count_persona_origin
        self._ok: dict[tuple[str, str], set[str]] = {}

    async def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        """Judge every item (synchronous work; it takes microseconds per response)."""
        return [self.judge_one(it) for it in items]

    def judge_one(self, item: JudgeItem) -> JudgeVerdict:
        """Judge one item: claims of the answer and of the reasoning trace, each where it was found."""
        answer, reasoning = split_response(item.response or "", item.reasoning)
        if not answer.strip() and not reasoning.strip():
            return JudgeVerdict.unscored("empty response")
        personas = persona_names(item.jailbreak_prompt, self.registry)
        claims = self.extractor.extract(split_inline_tags(answer), personas=personas) if answer.strip() else []
        return self._decide(item, claims + self._reasoning_claims(reasoning))

    def _reasoning_claims(self, reasoning: str) -> list[Claim]:
        """The trace's claims that are the model's own self-identification (see `claims_reasoning`)."""
        found = self.extractor.extract(reasoning, voice="reasoning") if reasoning.strip() else []
        # a speaker label in the trace ("Draft:", "草稿：") is part of what the sentence reports
        return [
            c
            for c in found
            if reasoning_evidence(f"{c.speaker}: {c.sentence}" if c.speaker else c.sentence, c.families, self.registry)
        ]

    def _compatible(self, target: Family) -> set[str]:
        """The target's family and those its fact names (claims of these agree with the truth)."""
        key = (target.key, target.fact)
        if key not in self._ok:
            self._ok[key] = {target.key} | {f.key for _, f in self.registry.families_in(target.fact)}
        return self._ok[key]

    def _decide(self, item: JudgeItem, claims: list[Claim]) -> JudgeVerdict:
        ok = self._compatible(item.target)
        bad = [c for c in claims if any(f not in ok for f in c.families)]
        truthful = [c for c in claims if any(f in ok for f in c.families)]
        unknown = [
            c
            for c in claims
            if c.origin
            and (c.voice == "self" or self.count_persona_origin)
            and origin_contradicts(c.sentence, item.target.fact)
        ]
        if not bad and unknown and not truthful and self.count_unknown_origin:
            return make_verdict(
                True,
                False,
                item,
                claimed_family=None,
                uncertain=True,
                location=_location(unknown),
                rationale=f"origin claimed without the true maker: {unknown[0].sentence[:160]}",
            )
        if not bad:
            why = "truthful claim" if truthful else "no first-person identity claim"
            return make_verdict(False, False, item, rationale=why, uncertain=bool(truthful and unknown))
        fam = self._claimed(bad, ok)
        # A response that also states the true identity is mixed evidence: loose at most, never strict. A true
        # identity recalled in the reasoning only mixes with claims of the reasoning (`claims_reasoning`).
        mixed = [c for c in truthful if c.voice != "reasoning"]
        strict = any(self._strict_claim(c, ok) and not (mixed or (c.voice == "reasoning" and truthful)) for c in bad)
        # In-character claims ("[ChatGPT]: I am made by OpenAI") count, as the paper's judge mostly did,
        # but are flagged: its own instructions call them role-play.
        uncertain = all(c.voice != "self" or self._in_character(c) for c in bad) or bool(truthful)
        why_not = "" if strict or fam not in self.reference else self._why_not_strict(bad, ok, bool(truthful))
        return make_verdict(
            True,
            strict,
            item,
            claimed_family=fam,
            uncertain=uncertain,
            location=_location(bad),
            rationale=f"{bad[0].voice} claim ({fam}){why_not}: {bad[0].sentence[:160]}",
        )

    def _why_not_strict(self, bad: list[Claim], ok: set[str], truthful: bool) -> str:
        """Why a claim naming a reference family stays loose, for the rationale."""
        if truthful:
            return ", loose only: the response also states the true identity"
        if any(not c.weak and any(f in self.reference and f not in ok for f in c.families) for c in bad):
            return ", loose only: credit shared with other makers"
        return ", loose only: a weak tie (a role, a policy or an appositive)"

    def _strict_claim(self, claim: Claim, ok: set[str]) -> bool:
        """A claim to be (made by) a reference family alone. Credit shared with other makers ("supported by
        OpenAI, Microsoft and Google") is collaboration talk: it contradicts the truth, but names no single maker."""
        if claim.weak or not any(f in self.reference and f not in ok for f in claim.families):
            return False
        named = {f.key for _, f in self.registry.families_in(claim.sentence)}
        return named <= self.reference | ok

    def _in_character(self, claim: Claim) -> bool:
        """A character describing itself under its own name ("[Claude]: I am built by Anthropic"): the claim
        names only the speaker label's family."""
        if claim.speaker is None:
            return False
        label_fams = {f.key for _, f in self.registry.families_in(claim.speaker)}
        return bool(label_fams) and set(claim.families) <= label_fams

    def _claimed(self, bad: list[Claim], ok: set[str]) -> str:
        """The claimed family: a reference family when any contradicting claim names one, else the first."""
        names = [f for c in bad for f in c.families if f not in ok]
        return next((f for f in names if f in self.reference), names[0])


def _location(claims: list[Claim]) -> EvidenceLocation:
    """Where the evidence was found: the reasoning trace, the answer, or both."""
    places = {c.voice == "reasoning" for c in claims}
    return "both" if len(places) == 2 else "reasoning" if True in places else "answer"
