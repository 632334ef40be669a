"""Question focus: what a question asks for, and whether evidence gives it (rag/focus.py)."""

from __future__ import annotations

import pytest

from rag.focus import adds_information, analyse, coverage, describe_gap, has_value, question_parts, rate_periods

KINDS = [
    ("Why are Alibaba and Baidu training AI models on their own chips?", "reason"),
    ("What are the main concerns about RFID tags?", "reason"),
    ("What is holding back the launch of 3G phones?", "reason"),
    ("What still stands in the way of cheaper broadband?", "reason"),
    ("What makes it so hard to switch mobile networks?", "reason"),
    ("According to the survey, why do most firms keep their call centres at home?", "reason"),
    ("The law was delayed again - what are critics afraid it will do?", "reason"),
    ("What problems with the new payment cards did shoppers report?", "reason"),
    ("What could stop the chip from reaching living rooms?", "reason"),
    ("In his column, how was his girlfriend affected when the modem died?", "how"),
    ("What makes up the bulk of the firm's sales?", "other"),
    ("According to the report, what went wrong with the project?", "reason"),
    ("what's fuelling the boom in hybrid car sales?", "reason"),
    ("Apart from the slump, what other troubles is the chain facing?", "reason"),
    ("What does the minister want done to keep violent games from children?", "how"),
    ("What did the committee recommend?", "how"),
    ("What does Apple plan to launch next?", "other"),
    ("What did the firm want for its shares?", "other"),
    ("How much compensation did the studio win?", "money"),
    ("What do the e-mails spreading the so-called FBI virus say you've done?", "other"),
    ("How does the anti-tremor mouse work?", "how"),
    ("What should users do to keep their laptops safe?", "how"),
    ("What does the new chip do?", "other"),
    ("How many Britons have some sort of hand tremor?", "count"),
    ("How much did Google pay for Picasa?", "money"),
    ("What was the UK price of the PSP?", "money"),
    ("What percentage of homes have broadband?", "percent"),
    ("When did Commodore go bust?", "date"),
    ("In what year did Commodore International go bust?", "date"),
    ("Who founded the Maxis studio?", "person"),
    ("Which firm has taken over the Commodore brand?", "organisation"),
    ("Where was the robot unveiled?", "place"),
    ("Which game won the award?", "name"),
    ("Is the PSP cheaper than the DS?", "yesno"),
    ("What clock speed does the Kunlun P800 run at?", "other"),
    ("How much has Britain given the agency?", "money"),
    ("How much did the operator cut its wholesale prices?", "count"),  # a change: "by 70%"
    ("How much revenue did PayPal bring in?", "money"),
    ("What were Electronic Arts' revenues in 2003?", "money"),
    ("What was Google's share price?", "money"),
    ("What did Microsoft pay for Lookout Software?", "money"),
    ("What did they pay attention to?", "other"),
    ("Which lab was behind the panoramic photo?", "organisation"),
]


@pytest.mark.parametrize(("question", "kind"), KINDS)
def test_question_kind(question, kind):
    assert analyse(question).kind == kind


FOCUS = [
    ("What clock speed does the Kunlun P800 run at?", ["clock", "speed"]),
    ("What was Apple's revenue in 2004?", ["revenue"]),
    ("What were Electronic Arts' revenues in 2003?", ["revenues"]),
    ("How many staff does the firm employ?", ["staff"]),
    ("What is the battery life of the Zen Micro?", ["battery", "life"]),
    ("Why did Sony cut the price?", []),  # a reason question names no attribute to match
]


@pytest.mark.parametrize(("question", "words"), FOCUS)
def test_focus_is_the_attribute_asked_for(question, words):
    assert [written for _, written in analyse(question).focus_words] == words


def test_qualifiers_years_quarters_places_and_names():
    f = analyse("What were Apple's UK sales in the third quarter of 2004?")
    assert f.years == {"2004"}
    assert "uk" in f.qualifiers
    assert ("q3", "third quarter") in f.forms
    assert "appl" in f.names
    assert analyse("What does the Kunlun P800 do?").names == {"kunlun", "#p800"}


P800 = "The Kunlun P800 uses a 7nm process technology and integrates up to 256 TOPS of INT8 computing power."


def test_neighbouring_fact_does_not_cover_the_asked_attribute():
    f = analyse("What clock speed does the Kunlun P800 run at?")
    gap = coverage(f, P800)
    assert not gap.ok and gap.missing_focus == ["speed", "clock"]
    assert describe_gap(f, gap, "What clock speed does the Kunlun P800 run at?") == (
        "The articles mention Kunlun, P800, but not clock speed."
    )
    assert coverage(f, "The Kunlun P800 runs at 2.1GHz.").ok  # a unit names what a number measures


def test_synonyms_and_close_words_name_the_focus():
    f = analyse("How much does the Gizmondo cost?")
    assert coverage(f, "The Gizmondo will sell for £229 in the UK.").ok
    staff = analyse("How many staff does Nokia employ?")
    assert not coverage(staff, "Nokia has 50,000 customers in Finland.").ok
    assert coverage(staff, "Nokia has 50,000 employees in Finland.").ok


def test_the_answers_type_noun_need_not_be_repeated_but_a_measure_must():
    newspaper = analyse("In which newspaper did Firefox fans place an advert for version 1.0?")
    assert coverage(newspaper, "Firefox fans paid for a two-page advert in the New York Times.").ok
    weight = analyse("What does Hitachi's Emiew robot weigh?")
    assert not coverage(weight, "Hitachi's Emiew is 1.3m tall.").ok
    assert coverage(weight, "Hitachi's Emiew weighs 13kg.").ok


def test_a_percentage_answers_what_share():
    f = analyse("What share of UK mobiles will reach the net over GPRS by 2005?")
    assert coverage(f, "By the end of 2005, 80% of UK mobiles will reach the net over GPRS.").ok
    assert not coverage(f, "By the end of 2005, many UK mobiles will reach the net over GPRS.").ok


def test_on_which_day_wants_a_day_not_a_month():
    f = analyse("On which day in February does the DS adapter go on sale?")
    assert not coverage(f, "The DS adapter goes on sale in February.").ok
    assert coverage(f, "The DS adapter goes on sale on 24 February.").ok


def test_names_match_in_singular_and_plural():
    f = analyse("Which company will offer its latest TPUs to other data centres?")
    assert not coverage(f, "Google will offer its latest TPU to data centres.", strict=False).missing_names
    assert coverage(f, "Apple sells phones.", strict=False).missing_names == ["tpus"]


def test_a_range_is_stated_by_two_numbers_and_a_unit_is_a_name_category():
    ages = analyse("Which age range are the school lessons on piracy designed for?")
    assert coverage(ages, "The lessons, aimed at 11 to 14-year-olds, cover copyright.").ok
    assert not coverage(ages, "The lessons, aimed at teenagers, cover copyright.").ok
    unit = analyse("Which FBI unit do the e-mails say has been watching people?")
    assert unit.kind == "name"
    assert coverage(unit, "They say the FBI's Internet Fraud Complaint Center has been watching them.").ok
    fine = analyse("How big a fine was the DVD pirate given?")
    assert fine.kind == "money" and not coverage(fine, "The DVD pirate was given a three-year jail sentence.").ok


def test_whats_reads_as_what_is():
    f = analyse("What's the daily circulation of the Hindi paper Dainik Jagran?")
    assert f.focus_words == analyse("What is the daily circulation of the Hindi paper Dainik Jagran?").focus_words
    assert [written for _, written in f.focus_words] == ["daily", "circulation"]


def test_an_abbreviated_title_matches_the_title_spelled_out():
    f = analyse("Who is Ontrack Data Recovery's MD?")
    said = '"Data can disappear," said Adrian Palmer, managing director of Ontrack Data Recovery.'
    assert coverage(f, said).ok
    assert coverage(f, "Adrian Palmer, a director of Ontrack Data Recovery, said data can disappear.").missing_names


def test_before_the_model_one_of_many_names_may_be_worded_differently_but_not_a_model_number():
    tube = analyse("What is the Transport for London campaign at Tube stations called?")
    assert not coverage(tube, "Transport for London calls it Tap In.", strict=False).missing_names
    assert coverage(tube, "Transport for London calls it Tap In.", strict=True).missing_names
    k750 = analyse("What camera does the Sony Ericsson K750 phone have?")
    assert coverage(k750, "The Sony Ericsson K700 has a 2 megapixel camera.", strict=False).missing_names


def test_another_years_event_is_not_the_answer():
    f = analyse("Who won the 2020 final?")
    assert not coverage(f, "Smith won the final in 2021.").ok
    assert coverage(f, "Smith won the 2020 final.").ok
    assert coverage(f, "Smith won the final.", published_year="2020").ok  # the passage's date is that year


def test_place_qualifier_must_be_in_the_passage():
    f = analyse("What is the UK price of Napster To Go?")
    assert not coverage(f, "Napster To Go costs $15 a month.", "Napster To Go launches in the US.").ok
    assert coverage(f, "In the UK it costs £10 a month.", "Napster To Go", title="Napster To Go").ok
    assert coverage(
        analyse("How much does the Gizmondo sell for in Britain?"), "The Gizmondo sells for £229 in the UK."
    ).ok
    assert "usa" in analyse("Which US city is he from?").qualifiers


def test_a_number_inside_a_product_name_is_not_a_count():
    focus = analyse("How many Zorb 64 computers were sold?")
    assert not coverage(focus, "The Zorb 64 sold more than any rival, launched in 1982.").ok  # not "4", not a year
    assert coverage(focus, "The Zorb 64 sold 17 million units.").ok


def test_names_missing_from_the_passage_are_a_gap():
    gap = coverage(analyse("What did Apple say about the iPod?"), "Sony launched a player.")
    assert gap.missing_names and not gap.ok


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("count", "About three million Britons", True),
        ("count", "Many Britons", False),
        ("count", "He was one of the first employees", False),
        ("money", "It costs £229.", True),
        ("money", "It costs a lot.", False),
        ("money", "They could be fined up to 10% of their annual turnover.", True),
        ("money", "Sales rose 10% in the year.", False),
        ("date", "It went bust in 1994.", True),
        ("date", "It went bust.", False),
        ("percent", "Sales rose 7%.", True),
        ("organisation", "Bloglines was bought by Ask Jeeves.", True),
        ("organisation", "The blog reader was bought.", False),
        ("organisation", "It was built by researchers in the Netherlands.", False),  # a place is not a firm
        ("place", "It was built in the Netherlands.", True),
        ("place", "The tour kicks off on 28 March.", False),  # a month is a time, not a place
        ("person", "On Monday, the firm said so.", False),
        ("name", "The Santy worm exploited the phpBB software.", True),
    ],
)
def test_has_value_of_the_asked_kind(kind, text, expected):
    assert has_value(kind, text) is expected


def test_restating_the_question_adds_nothing():
    question = "Which company bought the brand?"
    assert not adds_information("The company that bought the brand is.", question)
    assert adds_information("Yeahronimo bought the brand.", question)


def test_two_part_questions_split_and_one_event_questions_do_not():
    assert question_parts("Which robot learnt to run, and which firm bought Bloglines?") == [
        "Which robot learnt to run",
        "which firm bought Bloglines?",
    ]
    assert question_parts("When and where was it launched?") == ["When and where was it launched?"]


def test_evidence_naming_no_other_subject_is_about_its_passages_subject():
    f = analyse("How many PC Pro readers are thinking about switching supplier?")
    passage = "A survey by PC Pro Magazine found Britons unhappy with their internet service."
    assert coverage(f, "A further 16% of readers are considering switching.", passage).ok
    assert not coverage(f, "A further 16% of Computing Weekly readers are considering switching.", passage).ok


def test_an_amount_in_another_currency_does_not_answer():
    f = analyse("What will the Mac mini cost in euros?")
    assert f.currency == "euros"
    assert not coverage(f, "The Mac mini costs £339 in the UK.").ok
    assert coverage(f, "In France the Mac mini costs 489 euros.").ok
    assert analyse("How much does the Mac mini cost?").currency == ""


def test_a_figure_stated_for_another_place_does_not_answer():
    f = analyse("How many pocket-office devices has T-Mobile sold in the UK?")
    assert not coverage(f, "T-Mobile has sold 100,000 of them in Europe.", "T-Mobile, the UK operator").ok
    assert coverage(f, "T-Mobile has sold 100,000 of them so far.", "T-Mobile, the UK operator").ok
    assert coverage(f, "T-Mobile has sold 100,000 of them in Britain.").ok


def test_a_year_that_ends_a_name_is_satisfied_by_an_article_about_that_product():
    f = analyse("Who is publishing Football Manager 2005?")
    assert f.named_years == {("2005", "manager 2005")}
    sentence = "The studio went on to release it with new publishers Sega."
    assert coverage(f, sentence, "Football Manager 2005 is the game.", title="Football Manager 2005 reviewed").ok
    assert not coverage(f, sentence, "Football Manager is the game.", title="Football Manager reviewed").ok
    assert analyse("What did Apple earn in December 2004?").named_years == frozenset()


def test_a_figure_stated_of_another_firm_is_not_the_answer_but_a_named_answer_may_be_another_name():
    f = analyse("How much is Cablex spending on its on-demand TV push?")
    assert not coverage(f, "For Telvo it is the beginning of a £20m investment in TV-on-demand.").ok
    assert coverage(f, "Cablex is making a £20m investment in TV-on-demand.").ok
    g = analyse("Which studio is putting horror films like Saw onto UMD discs for the PSP?")
    sentence = "Film studio Lions Gate has listed 12 movies for the UMD format."
    assert coverage(g, sentence, f"Movies head to PSP. {sentence} Saw is one.", title="Movies head to PSP").ok


@pytest.mark.parametrize(
    "question, kind",
    [
        ("what did US Customs call its global crackdown on the Drink Or Die group?", "name"),
        ("What is the new file-swapping network called?", "name"),
        ("What did the report call for?", "other"),  # a demand, not a name
    ],
)
def test_a_question_asking_what_something_is_called_asks_for_a_name(question, kind):
    assert analyse(question).kind == kind


def test_a_word_that_starts_a_later_sentence_is_not_a_name():
    focus = analyse("The guy who ran Suprnova is putting out new file-sharing software. Name?")
    assert focus.names == {"suprnova"}


def test_a_demonym_is_a_place_qualifier_not_a_name():
    focus = analyse("Which company found that Britons lead the world in downloading pirated TV shows?")
    assert "briton" in focus.qualifiers and "briton" not in focus.names
    evidence = "Web tracking company Envisional said 18% of TV downloaders were from within the UK."
    assert coverage(focus, evidence, evidence, strict=False).ok


def test_a_model_number_is_a_code_not_a_count():
    focus = analyse("What's the model number of the Samsung phone that was on show at Cebit?")
    assert focus.kind == "name"
    evidence = "Samsung is showing off its SGH-i300, a handset with a hard drive."
    assert coverage(focus, evidence, f"Cebit fever. {evidence}", answer="It is the SGH-i300.").ok


def test_a_worldwide_figure_does_not_answer_for_one_country():
    focus = analyse("How many copies has Halo 2 sold in the UK?")
    context = "UK gamers queued for Halo 2."
    worldwide = "Halo 2 has sold more than five million copies worldwide since it went on sale."
    assert coverage(focus, worldwide, f"{context} {worldwide}", answer=worldwide).missing_qualifiers == ["uk"]
    local = "Halo 2 has sold more than 300,000 copies since it went on sale."
    assert coverage(focus, local, f"{context} {local}", answer=local).ok


def test_a_name_and_its_acronym_are_the_same_name() -> None:
    asked = analyse("Which Electronic Frontier Foundation lawyer criticised the firm?")
    by_acronym = "Going to the ISPs is wrong, said EFF lawyer Kurt Opsahl."
    assert coverage(asked, by_acronym, answer="Kurt Opsahl criticised it.").ok
    assert not coverage(asked, "Going to the ISPs is wrong, said lawyer Kurt Opsahl.").ok
    short = analyse("What did the EFF say about the lawsuit?")
    assert coverage(short, "The Electronic Frontier Foundation said the lawsuit was wrong.").ok
    assert not coverage(short, "The Open Rights Group said the lawsuit was wrong.").ok


def test_number_words_are_counts() -> None:
    assert has_value("count", "Eighty large net firms have switched it on.")
    assert has_value("count", "fourteen of them")
    assert not has_value("count", "Large net firms have switched it on.")


def test_a_job_is_asked_for_not_named() -> None:
    asked = analyse("What is Mark Sunner's job at MessageLabs?")
    assert asked.focus_words == ()
    assert coverage(asked, "said Mark Sunner, chief technology officer at MessageLabs.").ok


def test_a_year_in_the_articles_title_is_the_whole_articles_year() -> None:
    asked = analyse("When is Stalker being released on PC, according to the BBC's preview of 2005 games?")
    assert coverage(
        asked, "Released 1 March on PC.", "BBC News: Stalker ...", title="The gaming world in 2005", strict=False
    ).ok
    assert not coverage(
        asked, "Released 1 March on PC.", "BBC News: Stalker ...", title="The gaming world in 2004", strict=False
    ).ok


def test_dates_numbers_and_quoted_words_in_the_evidence_name_no_other_subject() -> None:
    f = analyse("How many firms have switched on the Arbor Networks system?")
    passage = "Arbor Networks brokered the fingerprinting system."
    assert coverage(f, "Eighty large net service firms have switched it on.", passage).ok
    assert not coverage(f, "Eighty Telvo customers have switched it on.", passage).ok  # Telvo: someone else
    g = analyse("When is Stalker released on the PC?")
    assert coverage(g, "Released 1 March on PC.", "Stalker: a shooter.").ok
    h = analyse("How many languages does the Zafi virus use?")
    assert coverage(h, 'Its subject line says "Merry Christmas" in one of 15 languages.', "The Zafi virus.").ok


def test_a_name_cited_as_the_source_or_an_example_need_not_be_in_the_answering_sentence() -> None:
    f = analyse("When is Stalker released on PC, according to the BBC's preview?")
    assert f.side_names == {"bbc"}
    assert analyse("Which firms, such as Sony or Sega, cut prices?").side_names == {"soni", "sega"}
    assert analyse("What did BT say, according to BT?").side_names == frozenset()  # also its subject
    sentence, article = "Ubisoft says Stalker is released in March on PC.", "Stalker is a shooter."
    assert coverage(f, sentence, f"{article} The BBC preview.").ok
    # the source must be named somewhere: in the article, or as the passage's publisher
    assert coverage(f, sentence, article, source="bbc-news https://www.bbc.co.uk/news/1").missing_names == []
    assert coverage(f, sentence, article, source="reuters").missing_names == ["bbc"]


def test_a_hyphened_names_plain_word_is_not_a_name_and_hd_is_high_definition() -> None:
    f = analyse("How many homes in Europe will have HD-ready sets by 2008?")
    assert f.names == {"hd"}
    sentence = "Only 12% of homes in Europe will have TVs showing programmes in high-definition by 2008."
    assert coverage(f, sentence, sentence).ok
    assert not coverage(f, "Only 12% of homes in Europe will have TVs by 2008.", "TVs in Europe").ok


def test_which_drama_or_project_asks_for_a_name() -> None:
    assert analyse("Which BBC drama is the EU using in the NM2 project?").kind == "name"
    assert analyse("Which project did the EU fund?").kind == "name"


def test_a_full_name_is_named_by_its_last_word() -> None:
    f = analyse("How many words do people type into a search engine, says usability expert Jakob Nielsen?")
    article = "Usability expert Jakob Nielsen has studied search engines."
    sentence = "Research by Dr Nielsen shows that, on average, people type 2.2 words into search engines."
    assert coverage(f, sentence, article).ok
    assert not coverage(f, "Research by Dr Smith shows that people type 2.2 words.", article).ok
    assert analyse("What did the Bank of England say?").full_names == frozenset()  # a name with "of" is no person's


def test_names_typed_only_in_earlier_turns_need_not_be_in_the_sentence_naming_the_answer() -> None:
    from rag.answer import _typed_names

    question = "Who edits the group blog that published the Sri Lankan blogger's text messages?"
    typed = ["and who edits the group blog that published them?", "What name does the Sri Lankan blogger use?"]
    article = "The Sri Lankan blogger Morquendi sent text messages. They were published on a group blog."
    sentence = "Indian writer Rohit Gupta edits a group blog called Dogs without Borders."
    f = _typed_names(analyse(question), typed)
    assert f.side_names == {"sri", "lankan"} and coverage(f, sentence, article).ok
    assert not coverage(f, sentence, "Rohit Gupta edits a blog.").ok  # the conversation's subject is in the article
    asked_now = _typed_names(analyse(question), [question])  # typed in this message: the subject, as before
    assert not asked_now.side_names and not coverage(asked_now, sentence, article).ok
    count = _typed_names(analyse("How many messages did the Sri Lankan blogger send?"), typed)
    assert not count.side_names  # a value is stated of someone: the subject must still be in its sentence


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("How many copies of Halo 3 were sold on its first day in the US?", {"halo 3"}),
        ("How many copies has Half-Life 2 sold?", {"half-life 2"}),
        ("Which firm topped the Top 500 list?", {"top 500"}),
        ("Did Sony sell 3 million PSPs?", set()),
        ("In which month did 3 launch its 3G network in the UK?", set()),
        ("What did Apple sell 10 units for?", set()),
    ],
)
def test_a_number_ending_a_name_says_which_one_is_meant(question, named) -> None:
    assert analyse(question).named_numbers == named


def test_another_numbered_edition_of_the_name_does_not_answer() -> None:
    focus = analyse("How many copies of Halo 3 were sold on its first day in the US?")
    sentence = "Halo 2 has broken records, with pre-orders of more than 1.5 million in the US alone."
    gap = coverage(focus, sentence, f"Halo 2 sales {sentence}", title="Halo 2 sales")
    assert gap.missing_names == ["halo 3"]
    assert "Halo 3" in describe_gap(focus, gap, "How many copies of Halo 3 were sold on its first day in the US?")
    stated = coverage(focus, "It sold 1.5 million in the US alone.", "Microsoft's Halo-3 is out.", title="Halo")
    assert stated.ok
    top = analyse("Which firm topped the Top 500 list?")
    assert coverage(top, "IBM's machine topped the Top500 list.", "", title="Supercomputers").ok


def test_what_a_buyer_pays_is_stated_as_the_deals_amount() -> None:
    focus = analyse("how much is Lenovo paying for IBM's PC division?")
    context = "Lenovo buys IBM's PC division"
    deal = "If the $1.75bn agreement Lenovo signed with IBM on 8 December goes through, it will mark the end of an era."
    assert coverage(focus, deal, context, title=context).ok
    profit = "Lenovo's profit for the three months to December was HK$327m, less than 1% up on the year before."
    assert coverage(focus, profit, context, title=context).missing_focus == ["paying"]


def test_a_stake_is_a_share_and_a_year_before_1900_is_a_date() -> None:
    stake = analyse("What is Time Warner's stake in Google?")
    owns = "Time Warner said on Friday that it now owns 8% of search-engine Google."
    assert coverage(stake, owns, "Time Warner profits", title="Time Warner profits").ok
    assert analyse("How big a stake does Time Warner have in Google?").kind == "percent"
    assert has_value("date", "AT&T was founded in 1875 by telephone pioneer Alexander Graham Bell.")


def test_a_month_is_when_not_whom() -> None:
    focus = analyse("How much did Lenovo's sales drop in the three months to December?")
    assert focus.names == {"lenovo"}
    sales = "But Western firms such as Dell are fighting harder, and Lenovo's sales were down 3.7% by revenue."
    assert coverage(focus, sales, "Lenovo results for the three months to December", title="Lenovo").ok
    month = analyse("How many text messages were sent in the UK in November 2004?")
    october = "The previous highest monthly total was in October 2004, when 2.3 billion were sent."
    assert coverage(month, october, "UK text messages", title="Text record").missing_qualifiers == ["november"]
    assert coverage(month, "In Nov 2004 2.1 billion were sent.", "UK text messages", title="Text record").ok
    assert analyse("In november, how many texts were sent?").forms == (("nov", "november"),)
    assert analyse("how many texts could be sent in may?").forms == ()


def test_the_year_in_the_articles_first_sentence_frames_a_sentence_that_names_no_other() -> None:
    focus = analyse("How much net profit did Lufthansa make in 2004?")
    sentence = "The airline announced net profits of 400m euros, compared with a loss of 984m euros in 2003."
    lead = "German airline Lufthansa has returned to profit in 2004 after posting huge losses in 2003."
    context = f"Lufthansa flies back to profit {lead} {sentence}"
    assert coverage(focus, sentence, context, title="Lufthansa flies back to profit", lead=lead).ok
    assert coverage(focus, sentence, context, title="Lufthansa flies back to profit").missing_qualifiers == ["2004"]
    earlier = analyse("How much net profit did Lufthansa make in 2003?")  # the lead's year is 2004, the first it names
    assert not coverage(earlier, "Net profits were 400m euros.", context, title="Lufthansa", lead=lead).ok
    other_year = "In 2002 it announced net profits of 700m euros."  # a sentence naming another year is that year's
    assert not coverage(focus, other_year, context, title="Lufthansa", lead=lead).ok


def test_a_quarters_figure_does_not_answer_for_the_whole_year() -> None:
    focus = analyse("What profit did Southwest Airlines make over the whole of 2004?")
    quarter = "Southwest Airlines saw its fourth-quarter 2004 profits fall 15% to $56m, against $66m a year earlier."
    assert coverage(focus, quarter, "Southwest", title="Airlines").missing_qualifiers == ["the whole of 2004"]
    both = "Southwest Airlines made $313m for the year, with fourth-quarter 2004 profits of $56m."
    assert coverage(focus, both, "Southwest", title="Airlines").ok
    q4 = analyse("What profit did Southwest Airlines make in the fourth quarter of 2004?")
    assert coverage(q4, quarter, "Southwest", title="Airlines").ok


def test_a_rate_per_another_period_does_not_answer() -> None:
    focus = analyse("How much gas a year will the Qatargas-4 plant handle for Shell?")
    assert focus.periods == {"year"}
    daily = "Shell's Qatargas-4 plant will handle 1.4 billion cubic feet of gas a day."
    assert coverage(focus, daily, "Shell Qatargas-4", title="Shell deal").missing_qualifiers == ["a year"]
    yearly = "Shell's Qatargas-4 plant will handle 7.8 million tonnes of LNG each year."
    assert coverage(focus, yearly, "Shell Qatargas-4", title="Shell deal").ok
    undated = "Shell's Qatargas-4 plant will handle 7.8 million tonnes of LNG."  # states no period: not contradicted
    assert coverage(focus, undated, "Shell Qatargas-4", title="Shell deal").ok
    assert rate_periods("$66m a year earlier, a monthly fee, 5 per hour") == {"month", "hour"}


def test_at_what_rate_asks_for_a_figure_and_a_number_word_names_no_one() -> None:
    rate = analyse("At what rate would the EU's proposed levy on aviation fuel be charged?")
    vague = "At present, the fuel used by airlines enjoys either a very low tax rate or is untaxed in EU states."
    assert not coverage(rate, vague, "EU aviation fuel levy", title="EU fuel tax").ok
    assert coverage(rate, "The EU levy on aviation fuel would be charged at 0.3 euros a litre.", "", title="EU").ok
    assert not has_value("person", "Three senior executives of the airline are set to leave.", frozenset())
    assert has_value("person", "Three senior executives, led by Dermot Mannion, are set to leave.", frozenset())


def test_a_price_asked_per_unit_is_stated_per_that_unit() -> None:
    focus = analyse("What is Bob Murray offering per share?")
    assert focus.per_unit == {"share"}
    lump = coverage(focus, "Bob Murray has made a £1.5m offer for the club.", "Sunderland", title="Sunderland")
    assert lump.missing_qualifiers == ["per share"]
    per_share = "Mr Murray must offer the price paid for the BSkyB holding, 31p a share."
    assert coverage(focus, per_share, "Bob Murray Sunderland", title="Sunderland").ok
    assert analyse("Who bought a share in Google?").per_unit == frozenset()


def test_kinds_of_things_are_asked_for_in_several_points() -> None:
    assert analyse("What kinds of errors creep onto the electoral register?").explanation
    assert not analyse("What kind of phone is it?").explanation


def test_what_a_buyer_pays_is_what_the_seller_sold_for() -> None:
    focus = analyse("How much is Ferrovial paying for Jarvis's stake in Tube Lines?")
    sale = "The sale of the 33% stake to Spain's Ferrovial for £146m is a lifeline to Jarvis."
    assert coverage(focus, sale, "Jarvis sells Tube Lines stake", title="Jarvis sells Tube Lines stake").ok


def test_one_in_four_is_a_proportion() -> None:
    focus = analyse("What proportion of homes still can't pick up the BBC's Freeview service?")
    sentence = "But the fact that one in four homes could not access Freeview remained a problem."
    assert coverage(focus, sentence, "BBC Freeview", title="BBC should allow more scrutiny").ok
    assert not coverage(focus, "Freeview could not be received in many homes.", "BBC Freeview", title="BBC").ok


def test_what_an_attribute_climbed_to_asks_for_its_level() -> None:
    focus = analyse("What did Cairn Energy's share price climb to after the news?")
    assert focus.kind == "money" and focus.focus_text == "share price"
    level = "Shares in Cairn Energy rose 3.8% to 1,088 pence on Tuesday after it announced a gas discovery."
    assert coverage(focus, level, "Cairn Energy", title="Cairn Energy").ok
    assert not coverage(focus, "Cairn's share price rose 300% last year.", "Cairn Energy", title="Cairn Energy").ok


def test_a_figure_is_no_word_for_the_asked_attribute() -> None:
    focus = analyse("What salary will Arsene Wenger be earning under his new Arsenal contract?")
    asked: list[str] = []

    def similar(word: str, candidates) -> list[float]:  # an embedder that finds "£350m" close to "salary"
        asked.extend(candidates)
        return [0.58 if "350" in c else 0.1 for c in candidates]

    stadium = "Arsenal boss Arsene Wenger said their new £350m stadium had no effect on his spending power."
    got = coverage(focus, stadium, "Arsenal Wenger", title="Wenger handed summer war chest", similar=similar)
    assert got.missing_focus == ["salary"] and asked and not any("350" in c for c in asked)


@pytest.mark.parametrize(
    "question",
    ["What is Bob Murray offering per share?", "What did Glazer pay per share?", "What's it charging a litre?"],
)
def test_a_price_verb_with_a_unit_asks_for_money(question):
    assert analyse(question).kind == "money"


def test_a_total_since_a_year_must_be_stated_with_that_year():
    focus = analyse("How much has Lord Sainsbury given Labour since 1999?")
    assert focus.since_years == {"1999"}
    assert not coverage(focus, "Lord Sainsbury has given Labour a £2m donation.").ok
    assert coverage(focus, "Lord Sainsbury has given Labour more than £10m since 1999.").ok
