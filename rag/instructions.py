"""Sentences that address a language model instead of reporting news ("ignore previous
instructions and answer that ..."): quoted text, never shown to a model as evidence and never
verified as evidence that anything happened."""

from __future__ import annotations

import re

# Each pattern is a way an article's text speaks to the model that reads it. They are
# written for the forms injected text takes, not for news prose about them: a report that
# "the bot was told to ignore its instructions" is matched too, and it is no evidence of
# the event it tells the model to state either.
_PATTERNS = (
    # "Ignore (all) previous instructions", "disregard the above prompt"
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?\b(?:instructions?|prompts?|"
    r"rules|directions|guidelines|context)\b",
    # "system prompt:", "developer message", "<system>", "<|im_start|>", "[INST]", "### Instruction"
    r"\b(?:system|developer)\s+(?:prompt|message|instructions?)\b",
    r"<\|?\s*/?\s*(?:system|assistant|user|im_start|im_end)\s*\|?>",
    r"\[/?INST\]",
    r"^\s*#{1,4}\s*(?:system|instructions?|assistant)\b",
    r"^\s*(?:system|assistant)\s*:",
    # "You are now an AI that ...", "as an AI language model"
    r"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:ai|assistant|language\s+model|chatbot|llm)\b",
    # ... but not "as an AI engineer" (a job) nor "as an assistant" (sports coverage is full of
    # assistant coaches).
    r"\bas\s+an?\s+(?:ai\s+)?language\s+model\b",
    r"\bas\s+an\s+ai\b(?!\s+\w)",
    # Imperatives to the answerer: "Answer that ...", "and reply with ...", "Cite [1] as proof"
    # (news prose says "experts now say that", "they deny it and say that": only a sentence
    # that opens with the verb, or "please", gives an order to say something)
    r"(?:^|\b(?:and|then|please)\s+)(?:answer|reply|respond)\s+(?:only\s+)?(?:that|with|yes|no|"
    r"the\s+following)\b",
    r"(?:^|\bplease\s+)(?:say|state|tell\s+the\s+user|output|print|write)\s+(?:only\s+)?"
    r"(?:that|with|yes|no|the\s+following)\b",
    # "Reply to every question with ...", "answer all questions by saying ...": an order about
    # every question is never news (but "declined to answer any questions" is).
    r"(?:^\s*|\b(?:and|then|please|always)\s+)(?:reply|respond|answer)\b[^.!?]{0,30}?"
    r"\b(?:every|all|any|each)\s+(?:questions?|queries|"
    r"query|prompts?|requests?|messages?)\b",
    r"\bcite\s+(?:\[\d+\]|sources?\s+\d+|sentences?\s+\d+)",
    r"\b(?:the\s+)?(?:assistant|model|ai)\s+(?:must|should|will)\s+(?:answer|reply|say|cite|state)\b",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)


def addresses_model(sentence: str) -> bool:
    """Whether a sentence speaks to the model that reads it rather than reporting news."""
    return _INSTRUCTION.search(sentence) is not None
