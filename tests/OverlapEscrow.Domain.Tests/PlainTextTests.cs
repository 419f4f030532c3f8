using OverlapEscrow.Domain;

namespace OverlapEscrow.Domain.Tests;

public sealed class PlainTextTests
{
    [Theory]
    [InlineData("Acme Corp")]
    [InlineData("Société Générale – EMEA")]
    [InlineData("می\u200Cخواهم")] // zero-width non-joiner (Persian)
    [InlineData("क्\u200Dष")] // zero-width joiner (Devanagari)
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467")] // an emoji sequence
    [InlineData("שלום Acme")] // right-to-left letters themselves are text, not formatting
    public void TextPeopleWriteIsPlain(string text) => Assert.True(PlainText.IsPlain(text));

    [Theory]
    [InlineData("bell\u0007")]
    [InlineData("line\nbreak")]
    [InlineData("Acme \u202Etseb")] // right-to-left override
    [InlineData("Acme \u2066x\u2069")] // left-to-right isolate and its pop
    [InlineData("admin@acme.example\u200B")] // zero-width space
    [InlineData("\uFEFFAcme")] // zero-width no-break space (byte-order mark)
    [InlineData("Ac\u00ADme")] // soft hyphen
    [InlineData("Acme\U000E0041")] // a tag character (outside the basic plane)
    [InlineData("Acme\u2060")] // word joiner
    public void ControlAndInvisibleFormatCharactersAreNot(string text) => Assert.False(PlainText.IsPlain(text));

    [Fact]
    public void NotesMayBreakLinesAndIndentButNotHideText()
    {
        Assert.True(PlainText.IsPlain("First line\r\n\tsecond", allowLineBreaks: true));
        Assert.False(PlainText.IsPlain("First line\r\n\tsecond", allowLineBreaks: false));
        Assert.False(PlainText.IsPlain("note\u202E", allowLineBreaks: true));
        Assert.False(PlainText.IsPlain("note\u0000", allowLineBreaks: true));
    }
}
